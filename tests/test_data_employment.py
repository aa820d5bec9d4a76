"""Tests of sd_model.data_employment. Reference values are recomputed here from the CSV rows with
the csv module; tolerances are the ones measured when the files were added (data/raw/SOURCES.md)."""
from __future__ import annotations

import math
import shutil

import numpy as np
import pytest

from sd_model.data_employment import (PWT_USA_FILE, RURAL_FILE, load_national_employment, load_pwt_usa,
                                      load_regional_rural_employment, us_tfp_growth)
from raw_csv import RAW, provinces_of, rows

NEW_FILES = (RURAL_FILE, PWT_USA_FILE, "national_employment_nbs.csv", "national_employment_by_sector_csy2025.csv")


@pytest.fixture(scope="module")
def rural():
    return load_regional_rural_employment(RAW)


@pytest.mark.parametrize("region, year", [("Central", 2008), ("West", 2012), ("Northeast", 2000), ("East", 2006)])
def test_regional_sum_independent(rural, region, year):
    provs = set(provinces_of(region))
    sel = [r for r in rows(RURAL_FILE) if r["province"] in provs and int(r["year"]) == year]
    assert len(sel) == len(provs)
    agri = sum(float(r["rural_agriculture_employed_10k_persons"]) for r in sel) / 100  # 万人 -> million
    total = sum(float(r["rural_employed_10k_persons"]) for r in sel) / 100
    got = rural.sel(year=year, region=region)
    assert float(got["rural_agriculture_employed"]) == pytest.approx(agri, rel=1e-12)
    assert float(got["rural_employed"]) == pytest.approx(total, rel=1e-12)
    assert float(got["agriculture_share_of_rural"]) == pytest.approx(agri / total, rel=1e-12)


def test_region_with_a_missing_province_is_nan(tmp_path):
    """Drop Jilin 2005: the Northeast 2005 is NaN (never a partial sum); other cells are unchanged."""
    shutil.copy(RAW / "regions.csv", tmp_path / "regions.csv")
    lines = (RAW / RURAL_FILE).read_text(encoding="utf-8").splitlines(keepends=True)
    kept = [ln for ln in lines if not ln.startswith("Jilin,2005,")]
    assert len(kept) == len(lines) - 1
    (tmp_path / RURAL_FILE).write_text("".join(kept), encoding="utf-8")
    ds = load_regional_rural_employment(tmp_path)
    for var in ("rural_employed", "rural_agriculture_employed", "agriculture_share_of_rural"):
        assert math.isnan(float(ds[var].sel(year=2005, region="Northeast")))
        assert not math.isnan(float(ds[var].sel(year=2004, region="Northeast")))
        assert not math.isnan(float(ds[var].sel(year=2005, region="East")))


def test_coverage_and_no_year_after_2015(rural):
    have = rural["rural_agriculture_employed"].dropna("year", how="any")
    assert list(have.year.values) == list(range(2000, 2013))
    assert bool(rural["rural_employed"].sel(year=slice(2013, 2015)).isnull().all())
    for fname in NEW_FILES:
        assert max(int(r["year"]) for r in rows(fname)) <= 2015, fname


def test_provinces_add_up_to_national(rural):
    """Sum of the 31 provinces against the national rural-survey series of the same NBS export: equal
    within 1e-9 (measured: 4e-16, the national figure is the provinces' sum). Against national
    primary-sector employment (a different statistic) the agricultural series is 0.863 (2003) to
    1.049 (2012) times as large; the test allows 0.86-1.05."""
    nat = {int(r["year"]): r for r in rows("national_employment_nbs.csv")}
    tot = rural.sum("region")
    for year in range(2000, 2013):
        agri = float(tot["rural_agriculture_employed"].sel(year=year))
        assert agri == pytest.approx(float(nat[year]["rural_agriculture_employed_10k_persons"]) / 100, rel=1e-9)
        assert float(tot["rural_employed"].sel(year=year)) == pytest.approx(
            float(nat[year]["rural_employed_rural_survey_10k_persons"]) / 100, rel=1e-9)
        ratio = agri / (float(nat[year]["primary_employment_10k_persons"]) / 100)
        assert 0.86 <= ratio <= 1.05, (year, ratio)


def test_national_sectors_add_up_and_vintages_agree():
    csy = load_national_employment("csy2025", RAW)
    nbs = load_national_employment("nbs_db", RAW)
    assert list(csy.index) == list(range(1978, 2016))
    assert list(nbs.index) == list(range(2000, 2016))
    parts = csy[["primary", "secondary", "tertiary"]].sum(axis=1)
    np.testing.assert_allclose(parts, csy["employment"], atol=0.01 + 1e-9)  # 1 万人 rounding
    # 2000-2010: the two vintages agree within rounding (0.5 万人); 2011-2015: the 2025 yearbook is
    # revised to the 2020 census (2015 employment 7.63 vs 7.75 hundred million)
    cols = ["employment", "primary", "secondary", "tertiary"]
    np.testing.assert_allclose(csy.loc[2000:2010, cols], nbs.loc[2000:2010, cols], atol=0.005 + 1e-9)
    assert csy.loc[2015, "employment"] == pytest.approx(763.20)
    assert nbs.loc[2015, "employment"] == pytest.approx(774.51)
    # the 1990 re-basing to the census: +17% in one year
    assert csy.loc[1990, "employment"] / csy.loc[1989, "employment"] == pytest.approx(64749 / 55329)
    first = {int(r["year"]): r for r in rows("national_employment_by_sector_csy2025.csv")}[1978]
    assert csy.loc[1978, "primary_share"] == pytest.approx(
        float(first["primary_employment_10k_persons"]) / float(first["employment_10k_persons"]), rel=1e-12)
    assert math.isnan(nbs.loc[2013, "rural_agriculture"])
    with pytest.raises(ValueError, match="unknown vintage"):
        load_national_employment("csy2024", RAW)


def test_us_tfp_from_the_rows():
    src = {int(r["year"]): r for r in rows(PWT_USA_FILE)}
    assert sorted(src) == list(range(1978, 2016))
    usa = load_pwt_usa(RAW)
    assert (usa["ctfp"] == 1.0).all()  # USA = 1 by construction
    g = us_tfp_growth(RAW)
    assert list(g.index) == list(range(1979, 2016))
    for year in (1979, 2000, 2015):
        expect = float(src[year]["rtfpna"]) / float(src[year - 1]["rtfpna"]) - 1
        assert g.loc[year] == pytest.approx(expect, rel=1e-12)
    # geometric mean over 1978-2015 equals the endpoint ratio
    mean = (float(src[2015]["rtfpna"]) / float(src[1978]["rtfpna"])) ** (1 / 37) - 1
    assert np.prod(1 + g.to_numpy()) ** (1 / 37) - 1 == pytest.approx(mean, rel=1e-9)


def _us_tfp_levels() -> dict[int, float]:
    """PWT's US TFP index by year, read with the csv module."""
    return {int(r["year"]): float(r["rtfpna"]) for r in rows(PWT_USA_FILE)}


def _model_text() -> str:
    from sd_model.run import DEFAULT_MODEL
    return DEFAULT_MODEL.read_text(encoding="utf-8")


def _model_number(text: str, name: str) -> float:
    import re
    return float(re.search(rf"^{name}\s*=\s*([\d.]+)", text, re.M).group(1))


def test_frontier_growth_eras_from_the_rows_and_in_the_model():
    """Each era's continuous rate recomputed from the CSV rows; the model's Frontier Growth Path holds them
    rounded to five decimals, with the step one TIME STEP after each break, and Frontier Growth Rate (the
    rate after 2015) is the 1978-2015 mean."""
    import re

    from sd_model.data_pwt import FRONTIER_ERAS, frontier_growth_eras
    level = _us_tfp_levels()
    eras = frontier_growth_eras(RAW)
    assert [tuple(x) for x in eras[["start", "end"]].to_numpy()] == list(FRONTIER_ERAS) + [(1978, 2015)]
    for start, end, rate in eras.itertuples(index=False):
        assert rate == pytest.approx(math.log(level[end] / level[start]) / (end - start), rel=1e-12)
    # the information-technology era's frontier moved three times as fast as the eras on either side of it
    assert eras.log_growth.tolist()[:3] == pytest.approx([0.00401, 0.01135, 0.00326], abs=5e-6)
    text = _model_text()
    block = re.search(r"^Frontier Growth Path\((.*?)\)\s*~", text, re.S | re.M).group(1)
    points = [(float(x), float(v)) for x, v in re.findall(r"\(([\d.]+),([\d.]+)\)", block)]
    step = _model_number(text, "TIME STEP")
    expected = []
    for i, (start, end, rate) in enumerate(eras.itertuples(index=False)):
        if i < len(FRONTIER_ERAS):
            expected += [(round(start + (step if i else 0.0), 6), round(rate, 5)), (end, round(rate, 5))]
    assert points == expected
    assert _model_number(text, "Frontier Growth Rate") == round(eras.log_growth.iloc[-1], 5)


def test_the_model_frontier_grows_as_us_tfp():
    """A run of the shipped model: Frontier TFP's growth 1978-2015 equals PWT's US TFP growth (rtfpna 2015 / 1978,
    read from the CSV rows) within the five-decimal rounding of the eras' rates (37 years x 5e-6) and Euler's error;
    after 2015 it grows at Frontier Growth Rate (compound over 2015-2020, Euler at the model's TIME STEP)."""
    from sd_model.engines import get_engine
    from sd_model.run import DEFAULT_MODEL

    level = _us_tfp_levels()
    step = _model_number(_model_text(), "TIME STEP")
    ds = get_engine("simlin", DEFAULT_MODEL).run(final_time=2020, outputs=["Frontier TFP", "Frontier Growth Rate"])
    frontier = ds["Frontier TFP"]
    ratio = float(frontier.sel(time=2015) / frontier.sel(time=1978))
    assert ratio == pytest.approx(level[2015] / level[1978], rel=3e-4)
    rate = float(ds["Frontier Growth Rate"].sel(time=2020))
    last_era = math.log(level[2015] / level[2004]) / 11
    # the step from 2015 still takes the 2004-2015 era's rate (Time <= 2015), the steps after it the projection's
    steps = round(5 / step)
    expected = (1 + round(last_era, 5) * step) * (1 + rate * step) ** (steps - 1)
    assert float(frontier.sel(time=2020) / frontier.sel(time=2015)) == pytest.approx(expected, rel=1e-9)
