"""Tests of sd_model.data_debt: values hand-read from the raw files, checked against independent totals."""
from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd
import pytest

from sd_model.data_debt import (
    GROWTH_FILE,
    PROVINCIAL_FILE,
    load_debt_growth_2013_2015,
    load_national_debt,
    load_provincial_debt,
    provincial_repay_liable,
    regional_debt_ratios,
)
from sd_model.errors import DataError

RAW = Path(__file__).resolve().parent.parent / "data" / "raw"


def _national(level, category, date="2013-06-30"):
    n = load_national_debt(RAW)
    sel = n[(n["date"] == pd.Timestamp(date)) & (n["level"] == level) & (n["category"] == category)]
    return float(sel["value"].iloc[0])


def test_values_hand_read_in_billion_yuan():
    d = load_provincial_debt(RAW).set_index(["province", "date", "category"])["value"]
    assert d["Henan", pd.Timestamp("2013-06-30"), "repay_liable"] == pytest.approx(352.838)
    assert d["Shanghai", pd.Timestamp("2013-06-30"), "possible_rescue"] == pytest.approx(272.918)
    assert d["Liaoning", pd.Timestamp("2015-12-31"), "repay_liable"] == pytest.approx(913.87)
    assert d["Beijing", pd.Timestamp("2010-12-31"), "total_government_debt"] == pytest.approx(374.545)
    assert load_debt_growth_2013_2015(RAW)["Hubei"] == pytest.approx(-8.8)
    assert _national("local", "repay_liable") == pytest.approx(10885.917)


def test_national_parts_add_up():
    """Central + local = all levels in each audit category, and general + special = the 2014 total:
    separate figures printed in the sources, not computed by the loader."""
    for cat in ("repay_liable", "guarantee", "possible_rescue"):
        assert _national("central", cat) + _national("local", cat) == pytest.approx(_national("all", cat), abs=1e-6)
    parts = (_national("local", "local_government_debt_general", "2014-12-31")
             + _national("local", "local_government_debt_special", "2014-12-31"))
    assert parts == pytest.approx(_national("local", "local_government_debt_total", "2014-12-31"), abs=1e-6)


def test_2010_parts_add_up_to_total():
    d = load_provincial_debt(RAW)
    d10 = d[d["date"] == pd.Timestamp("2010-12-31")].pivot(index="province", columns="category", values="value")
    for prov in ("Beijing", "Zhejiang"):
        row = d10.loc[prov]
        assert row["repay_liable"] + row["guarantee"] + row["other_2010"] == pytest.approx(
            row["total_government_debt"], abs=0.01)


def test_announcements_agree_with_the_chart():
    """The provinces' June-2013 audit announcements and Yicai's end-2015 chart are separate sources;
    the chart's growth (printed to 0.1 point) is reproduced from the two levels within 0.1 point
    (largest gap Shandong, 78.15 against 78.2), and within 0.2 for Fujian, whose 2013 figures are
    rounded to whole 亿元 (105.76 against 105.9). Zhejiang matches without Ningbo (its announcement
    excludes Ningbo), Shandong with Qingdao, Guangdong with Shenzhen."""
    with (RAW / PROVINCIAL_FILE).open(newline="", encoding="utf-8") as fh:
        rows = [r for r in csv.DictReader(fh) if r["debt_category"] == "repay_liable"]
    level = {(r["province"], r["date"]): float(r["value_100m_yuan"]) for r in rows}
    with (RAW / GROWTH_FILE).open(newline="", encoding="utf-8") as fh:
        growth = {r["province"]: float(r["growth_2013h1_to_2015_pct"]) for r in csv.DictReader(fh)}
    both = sorted(p for p, d in level if d == "2013-06-30" and (p, "2015-12-31") in level)
    assert both == ["Chongqing", "Fujian", "Guangdong", "Guangxi", "Hebei", "Inner Mongolia", "Shandong", "Shanghai",
                    "Zhejiang"]
    for prov in both:
        implied = 100 * (level[prov, "2015-12-31"] / level[prov, "2013-06-30"] - 1)
        assert implied == pytest.approx(growth[prov], abs=0.2 if prov == "Fujian" else 0.1), prov
    assert 100 * (9533.8 / 4499.13 - 1) > growth["Shandong"] + 10  # without Qingdao it would not match


def test_provinces_within_the_national_audit_total():
    """June 2013: the 26 provinces with a value add up to less than the NAO's local repay-liable
    total (108,859.17 亿元); the rest (Tianjin, Hainan, Hunan, Qinghai, Tibet, Ningbo) is 9.0%."""
    stocks = provincial_repay_liable(RAW)
    assert len(stocks) == 26 and stocks["stock_2013h1"].notna().all()
    total = stocks["stock_2013h1"].sum()
    national = _national("local", "repay_liable")
    assert 0.85 * national < total < national
    assert (national - total) / national == pytest.approx(0.0894, abs=0.001)


def test_derived_2013_values():
    s = provincial_repay_liable(RAW)
    assert s.loc["Liaoning", "stock_2013h1"] == pytest.approx(913.87 / 1.643)
    assert s.loc["Hubei", "stock_2013h1"] == pytest.approx(469.75 / 0.912)
    assert s.loc["Henan", "basis_2013h1"] == "audit announcement" and pd.isna(s.loc["Henan", "stock_2015"])
    assert "Tianjin" not in s.index and "Hunan" not in s.index


def test_regional_factors_independent_computation():
    """The Northeast (all three provinces covered) by hand from the CSV files."""
    ds = regional_debt_ratios(RAW)
    gdp = {}
    with (RAW / "provincial_gdp_nominal.csv").open(newline="", encoding="utf-8") as fh:
        for r in csv.DictReader(fh):
            gdp[r["province"], int(r["year"])] = float(r["gdp_nominal_100m_yuan"])
    ne = ("Liaoning", "Jilin", "Heilongjiang")
    d2015 = {"Liaoning": 9138.7, "Jilin": 3018.7, "Heilongjiang": 3165.0}
    ratio = sum(d2015.values()) / sum(gdp[p, 2015] for p in ne)
    assert float(ds["debt_to_gdp"].sel(measure="stock_2015", region="Northeast")) == pytest.approx(ratio)
    assert float(ds["gdp_coverage"].sel(measure="stock_2015", region="Northeast")) == pytest.approx(1.0)
    # factors are relative to all covered provinces: GDP-weighted they average to 1
    for m in ds["measure"].values:
        w = ds["gdp"].sel(measure=m)
        assert float((ds["factor"].sel(measure=m) * w).sum() / w.sum()) == pytest.approx(1.0)
    assert float(ds["debt"].sel(measure="stock_2015").sum()) == pytest.approx(14183.84)


def test_bad_inputs(tmp_path):
    for name in ("regions.csv", "provincial_gdp_nominal.csv", GROWTH_FILE):
        (tmp_path / name).write_text((RAW / name).read_text(encoding="utf-8"), encoding="utf-8")
    text = (RAW / PROVINCIAL_FILE).read_text(encoding="utf-8")
    (tmp_path / PROVINCIAL_FILE).write_text(text.replace("\nHenan,2013-06-30,repay_liable", "\nHenan,2013-06-30,repay"),
                                            encoding="utf-8")
    with pytest.raises(DataError, match=rf"{PROVINCIAL_FILE}, line 20: unknown debt_category 'repay'"):
        load_provincial_debt(tmp_path)
    (tmp_path / PROVINCIAL_FILE).write_text(text.replace("\nHenan,", "\nHonan,"), encoding="utf-8")
    with pytest.raises(DataError, match=r"line 20: unknown province 'Honan'"):
        load_provincial_debt(tmp_path)
    (tmp_path / PROVINCIAL_FILE).write_text(text.replace("\nHenan,2013-06-30", "\nHenan,2016-06-30"), encoding="utf-8")
    with pytest.raises(DataError, match=r"date '2016-06-30' is not a date YYYY-MM-DD within 1990-2015"):
        load_provincial_debt(tmp_path)
