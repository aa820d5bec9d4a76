"""Tests of sd_model.data.

Reference values come from independent re-summing of the CSV files with the csv module or
from numbers printed in data/raw/SOURCES.md, never from the loader's own output.
"""
from __future__ import annotations

import csv
import filecmp
import math
import shutil
from pathlib import Path

import numpy as np
import pytest

from sd_model import data
from sd_model.errors import DataError, UnknownNameError
from raw_csv import RAW, provinces_of

SHARED = Path("/work/shared/data")


def raw_table(fname):
    """{(province, year): float} of the value column (third column) read with the csv module."""
    with (RAW / fname).open(newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    return {(r[0], int(r[1])): float(r[2]) for r in rows[1:]}


def regional(fname, region, year):
    t = raw_table(fname)
    return sum(t[p, year] for p in provinces_of(region) if (p, year) in t)


@pytest.fixture(scope="module")
def ds():
    return data.load_observations(RAW)


def val(ds, var, year, region):
    return float(ds[var].sel(year=year, region=region))


# ------------------------------------------------------------------ files and layout
@pytest.mark.skipif(not SHARED.is_dir(), reason="shared data folder not available")
def test_raw_copy_is_unchanged():
    """Every shared file is in data/raw unchanged; the project's SOURCES.md extends the shared one."""
    names = sorted(p.name for p in SHARED.iterdir() if p.name != "SOURCES.md")
    assert set(names) <= {p.name for p in RAW.iterdir()}
    match, mismatch, errors = filecmp.cmpfiles(SHARED, RAW, names, shallow=False)
    assert not mismatch and not errors
    shared = (SHARED / "SOURCES.md").read_text(encoding="utf-8")
    assert (RAW / "SOURCES.md").read_text(encoding="utf-8").startswith(shared)


def test_default_dir_and_env_override(monkeypatch, tmp_path):
    monkeypatch.delenv("SD_MODEL_DATA", raising=False)
    assert data.resolve_data_dir() == RAW
    monkeypatch.setenv("SD_MODEL_DATA", str(tmp_path))
    assert data.resolve_data_dir() == tmp_path


def test_dims_and_attrs(ds):
    assert data.REGIONS == ("East", "Central", "West", "Northeast")
    assert tuple(ds["region"].values) == data.REGIONS
    assert ds["year"].min() == 1978 and ds["year"].max() == 2015
    for name, var in ds.data_vars.items():
        assert {"units", "source", "note"} <= set(var.attrs), name
    assert "proxy" in ds["gdp_real_2000"].attrs["note"].lower()
    assert ds["loans_national"].dims == ("year",)


# ------------------------------------------------------------------ independent re-sums
@pytest.mark.parametrize("var, fname, factor, region, year", [
    ("gdp_nominal", "provincial_gdp_nominal.csv", 0.1, "East", 2010),
    ("gdp_nominal", "provincial_gdp_nominal.csv", 0.1, "Northeast", 1985),
    ("population", "provincial_population.csv", 0.01, "West", 1990),
    ("population", "provincial_population.csv", 0.01, "Central", 2015),
    ("gdp_real_2000", "provincial_gdp_real_2000prices.csv", 0.1, "Northeast", 2015),
    ("loans", "provincial_loans_fi.csv", 0.1, "Central", 2003),
    ("deposits", "provincial_deposits_fi.csv", 0.1, "East", 2012),
    ("household_deposits", "provincial_household_savings_deposits.csv", 0.1, "West", 2014),
    ("urban_population", "provincial_urban_population.csv", 0.01, "East", 2010),
    ("gfcf_nominal", "provincial_gfcf_nominal.csv", 0.1, "West", 1990),  # Sichuan incl. Chongqing
])
def test_regional_sums_match_csv(ds, var, fname, factor, region, year):
    assert val(ds, var, year, region) == pytest.approx(regional(fname, region, year) * factor, rel=1e-9)


def test_incomplete_regions_are_nan(ds):
    assert math.isnan(val(ds, "household_deposits", 2015, "East"))  # only ~4 provinces in 2015
    assert math.isnan(val(ds, "loans", 2002, "West"))
    assert math.isnan(val(ds, "urban_population", 2004, "Central"))


def test_capital_2000_independent():
    k = raw_table("provincial_capital_stock_1952prices.csv")
    p = raw_table("provincial_investment_price_index.csv")
    ds = data.load_observations(RAW)
    for region, year in [("West", 1990), ("West", 2010), ("East", 1978)]:
        expect = sum(k[q, year] * p[q, 2000] for q in provinces_of(region) if (q, year) in k) / 10
        assert val(ds, "capital_2000", year, region) == pytest.approx(expect, rel=1e-9)
    assert ("Chongqing", 1990) not in k  # the West sum above relied on the Sichuan exception


def test_gdp_real_before_2000_independent(ds):
    """1978-1999 real GDP: nominal GDP deflated by each province's investment price index, computed here from the
    raw files, for the unscreened index (``deflator="investment_price_index"``) and for the shipped screened one,
    whose yearly change is the retail index's where the two differ by more than 25 log points (Hunan 1990 and Anhui
    1991 in Central; none in the Northeast)."""
    nom = raw_table("provincial_gdp_nominal_compendium_vintage.csv")
    p = raw_table("provincial_investment_price_index.csv")
    rpi = raw_table("provincial_retail_price_index.csv")
    link = p["Chongqing", 1996] / p["Sichuan", 1996]
    plain = data.load_observations(RAW, deflator="investment_price_index")

    def level(q, y, screened):
        """Price level of year y relative to 2000 (screened: each change from y+1 to 2000 checked by hand)."""
        if not screened:
            return p.get((q, y), p[("Sichuan", y)] * link if q == "Chongqing" else None) / p[q, 2000]
        log_level = 0.0
        for t in range(y + 1, 2001):
            own = math.log(p[q, t] / p[q, t - 1])
            ref = math.log(rpi[q, t] / 100.0)
            log_level -= ref if abs(own - ref) * 100 > 25 else own
        return math.exp(log_level)

    for obs, screened, cases in [(plain, False, [("Northeast", 1990), ("West", 1985)]),
                                 (ds, True, [("Northeast", 1990), ("Central", 1990), ("Central", 1985)])]:
        assert obs.attrs["pre2000_deflator"] == ("investment_price_index_screened" if screened
                                                 else "investment_price_index")
        for region, year in cases:
            def deflated(y, region=region, screened=screened):
                return sum(nom[q, y] / level(q, y, screened) for q in provinces_of(region))
            expect = val(obs, "gdp_real_2000", 2000, region) * deflated(year) / deflated(2000)
            assert val(obs, "gdp_real_2000", year, region) == pytest.approx(expect, rel=1e-9)
    # the screen moves Central's 1990 real GDP (Anhui's 1991 and Hunan's 1990 jumps) and not the Northeast's
    assert val(ds, "gdp_real_2000", 1990, "Central") < 0.97 * val(plain, "gdp_real_2000", 1990, "Central")
    assert val(ds, "gdp_real_2000", 1990, "Northeast") == pytest.approx(val(plain, "gdp_real_2000", 1990, "Northeast"),
                                                                        rel=1e-12)
    # 2000 anchors on the NBS-vintage real (= nominal) GDP of 2000
    assert val(ds, "gdp_real_2000", 2000, "East") == pytest.approx(
        regional("provincial_gdp_real_2000prices.csv", "East", 2000) / 10)


# ------------------------------------------------------------------ numbers printed in SOURCES.md
def test_loan_shares_2006_match_sources(ds):
    printed = {"East": 57.5, "Central": 14.9, "West": 16.5, "Northeast": 7.5}  # % of national loans
    for region, pct in printed.items():
        share = val(ds, "loans", 2006, region) / float(ds["loans_national"].sel(year=2006)) * 100
        assert share == pytest.approx(pct, abs=0.051)
    of_sum = {"East": 59.6, "Central": 15.4, "West": 17.1, "Northeast": 7.8}  # % of sum of provinces
    for region, pct in of_sum.items():
        assert val(ds, "loan_share", 2006, region) * 100 == pytest.approx(pct, abs=0.051)


def test_provinces_vs_national_loans(ds):
    for year, pct in [(2003, -2.6), (2005, -3.6), (2015, -4.8)]:
        gap = float(ds["loans"].sel(year=year).sum() / ds["loans_national"].sel(year=year)) - 1
        assert gap * 100 == pytest.approx(pct, abs=0.051)


def test_loan_to_gdp_matches_sources(ds):
    printed = {2003: (1.18, 0.94, 1.10, 1.25), 2015: (1.35, 0.98, 1.38, 1.58)}
    for year, values in printed.items():
        np.testing.assert_allclose(ds["loan_to_gdp"].sel(year=year).values, values, atol=0.0051)


def test_real_growth_2015_matches_sources(ds):
    growth = (ds["gdp_real_2000"].sel(year=2015) / ds["gdp_real_2000"].sel(year=2014) - 1) * 100
    np.testing.assert_allclose(growth.values, [7.9, 8.2, 8.6, 4.2], atol=0.051)


def test_gdp_vintage_ratio_2000_matches_sources(ds):
    comp = data.load_provincial("gdp_nominal_compendium_vintage", RAW)
    comp2000 = comp[comp.year == 2000].groupby("region")["value"].sum()
    for region, ratio in {"East": 0.994, "Central": 1.012, "West": 1.003, "Northeast": 0.949}.items():
        assert val(ds, "gdp_nominal", 2000, region) / comp2000[region] == pytest.approx(ratio, abs=0.0006)


def test_current_price_capital_output_1980_matches_sources():
    k = data.load_provincial("capital_stock_1952prices", RAW)
    p = data.load_provincial("investment_price_index", RAW)
    y = data.load_provincial("gdp_nominal", RAW)
    m = k.merge(p, on=["province", "region", "year"]).query("year == 1980")
    kp = (m.value_x * m.value_y).groupby(m.region).sum()
    gdp = y[y.year == 1980].groupby("region")["value"].sum()
    for region, ratio in {"East": 1.12, "Central": 1.35, "West": 1.97, "Northeast": 1.19}.items():
        assert kp[region] / gdp[region] == pytest.approx(ratio, abs=0.0051)


def test_shares_sum_to_one(ds):
    for var in ("loan_share", "gdp_share", "population_share"):
        total = ds[var].sum("region", skipna=False).dropna("year")
        assert total.size > 0
        np.testing.assert_allclose(total.values, 1.0, rtol=1e-12)


# ------------------------------------------------------------------ public helpers
def test_load_provincial_units():
    df = data.load_provincial("population", RAW)
    assert list(df.columns) == ["province", "region", "year", "value"]
    assert df.attrs["units"] == "million persons"
    hubei = df[(df.province == "Hubei") & (df.year == 2010)].value.item()
    assert hubei == pytest.approx(raw_table("provincial_population.csv")["Hubei", 2010] / 100)


def test_load_national_units():
    nat = data.load_national(RAW)
    with (RAW / "national_nbs.csv").open(newline="") as fh:
        row = {int(r["year"]): r for r in csv.DictReader(fh)}[2015]
    assert nat.loc[2015, "loans"] == pytest.approx(float(row["loans_rmb_financial_institutions_100m_yuan"]) / 10)
    assert nat.loc[2015, "population"] == pytest.approx(float(row["population_10k_persons"]) / 100)
    assert list(nat.index) == list(range(2000, 2016))


def test_initial_values_1978():
    iv = data.initial_values(1978, RAW)
    assert list(iv) == list(data.REGIONS)
    for region in data.REGIONS:
        assert set(iv[region]) == {"capital", "population", "gdp", "gdp_nominal"}
        assert iv[region]["population"] == pytest.approx(regional("provincial_population.csv", region, 1978) / 100)
        assert iv[region]["gdp_nominal"] == pytest.approx(regional("provincial_gdp_nominal.csv", region, 1978) / 10)
        assert iv[region]["gdp"] > iv[region]["gdp_nominal"]  # 2000 prices are higher than 1978 prices
    with pytest.raises(DataError, match="1900"):
        data.initial_values(1900, RAW)


# ------------------------------------------------------------------ validation errors
def broken_copy(tmp_path, fname, edit):
    """Copy regions.csv and ``fname`` to tmp_path; ``edit(lines)`` returns (lines, 1-based line no.)."""
    shutil.copy(RAW / "regions.csv", tmp_path / "regions.csv")
    lines = (RAW / fname).read_text(encoding="utf-8").splitlines(keepends=True)
    lines, lineno = edit(lines)
    (tmp_path / fname).write_text("".join(lines), encoding="utf-8")
    return lineno


def replace_line(match, new):
    def edit(lines):
        i = next(i for i, s in enumerate(lines) if s.startswith(match))
        lines[i] = new(lines[i])
        return lines, i + 1
    return edit


@pytest.mark.parametrize("match, new, words", [
    ("Hubei,2005,", lambda s: s.replace("Hubei,2005,", "Hubie,2005,"), ["unknown province 'Hubie'", "Hubei"]),
    ("Anhui,1990,", lambda s: "Anhui,1990,nan,x\n", ["must be a finite number, got 'nan'"]),
    ("Anhui,1991,", lambda s: "Anhui,1991,,x\n", ["must be a number, got ''"]),
    ("Anhui,1992,", lambda s: "Anhui,1992,12x,x\n", ["must be a number, got '12x'"]),
    ("Anhui,1993,", lambda s: s.replace("1993", "2101", 1), ["2101", "1949-2100"]),
    ("Anhui,1995,", lambda s: s.replace("1995", "1994", 1), ["duplicate", "'Anhui', 1994"]),
])
def test_broken_line_is_reported(tmp_path, match, new, words):
    lineno = broken_copy(tmp_path, "provincial_population.csv", replace_line(match, new))
    with pytest.raises(DataError) as err:
        data.load_provincial("population", tmp_path)
    msg = str(err.value)
    assert "provincial_population.csv" in msg and f"line {lineno}:" in msg
    for w in words:
        assert w in msg


def test_duplicate_row_reported_at_second_occurrence(tmp_path):
    def edit(lines):
        return lines + [lines[5]], len(lines) + 1
    lineno = broken_copy(tmp_path, "provincial_loans_fi.csv", edit)
    with pytest.raises(DataError, match=rf"provincial_loans_fi\.csv, line {lineno}: duplicate.*line 6"):
        data.load_provincial("loans_fi", tmp_path)


def test_missing_column(tmp_path):
    broken_copy(tmp_path, "provincial_gdp_nominal.csv",
                replace_line("province,", lambda s: s.replace("gdp_nominal_100m_yuan", "gdp")))
    with pytest.raises(DataError, match=r"provincial_gdp_nominal\.csv, line 1: missing column.*gdp_nominal_100m_yuan"):
        data.load_provincial("gdp_nominal", tmp_path)


def test_missing_file_via_env(tmp_path, monkeypatch):
    shutil.copy(RAW / "regions.csv", tmp_path / "regions.csv")
    monkeypatch.setenv("SD_MODEL_DATA", str(tmp_path))
    with pytest.raises(DataError, match=r"provincial_gfcf_nominal\.csv: data file not found"):
        data.load_provincial("gfcf_nominal")
    with pytest.raises(DataError, match=r"national_nbs\.csv: data file not found"):
        data.load_national()


def test_unknown_series_name_suggests():
    with pytest.raises(UnknownNameError, match="gdp_nominal"):
        data.load_provincial("gdp_nominall", RAW)


def test_bad_national_value(tmp_path):
    (tmp_path / "national_nbs.csv").write_text(
        (RAW / "national_nbs.csv").read_text().replace("\n2003,", "\n2003x,"), encoding="utf-8")
    with pytest.raises(DataError, match=r"national_nbs\.csv, line 5: year '2003x'"):
        data.load_national(tmp_path)
