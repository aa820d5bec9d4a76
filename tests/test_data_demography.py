"""Tests of sd_model.data_demography. Reference values are recomputed from the CSV files with
the csv module, or are published figures of the sources (UN WPP 2015, NBS)."""
from __future__ import annotations

import math
import shutil

import numpy as np
import pytest

from sd_model.data_demography import (WPP_POP, load_national_demography, load_regional_demography,
                                      load_wpp2015)
from sd_model.errors import DataError
from raw_csv import RAW, provinces_of, rows



@pytest.fixture(scope="module")
def reg():
    return load_regional_demography(RAW)


@pytest.mark.parametrize("region, year", [("Northeast", 2015), ("West", 2005), ("East", 2002)])
def test_age_share_independent(reg, region, year):
    provs = set(provinces_of(region))
    sel = [r for r in rows("provincial_age_structure_sample_survey.csv") if r["province"] in provs and int(r["year"]) == year]
    assert len(sel) == len(provs)
    total = sum(float(r["sample_population_persons"]) for r in sel)
    old = sum(float(r["sample_age_65plus_persons"]) for r in sel)
    assert float(reg["age_share"].sel(year=year, region=region, age_group="65+")) == pytest.approx(old / total, rel=1e-12)


def test_age_shares_sum_to_one_and_gaps(reg):
    s = reg["age_share"].sum("age_group", skipna=False)
    finite = s.dropna("year", how="all")
    np.testing.assert_allclose(finite, 1.0, atol=2e-5)  # components add up within 2 persons a province
    assert set(finite.year.values) == set(range(2002, 2016)) - {2010}


def test_age_population_adds_to_national_structure(reg):
    """The four regions' derived 2015 age structure matches the NBS national one (0.01 point)."""
    nat = load_national_demography(RAW)
    tot = reg["age_population"].sel(year=2015).sum("region")
    expect = nat.loc[2015, ["age_0_14", "age_15_64", "age_65plus"]].to_numpy() / nat.loc[2015, "population"]
    np.testing.assert_allclose((tot / tot.sum()).values, expect, atol=1e-4)


def test_death_rate_weighted_independent(reg):
    pop = {(r["province"], int(r["year"])): float(r["population_10k_persons"]) for r in rows("provincial_population.csv")}
    dr = {(r["province"], int(r["year"])): float(r["death_rate_per_mille"]) for r in rows("provincial_birth_death_rates.csv")}
    provs = provinces_of("Northeast")
    expect = sum(dr[p, 2015] * pop[p, 2015] for p in provs) / sum(pop[p, 2015] for p in provs)
    assert float(reg["death_rate"].sel(year=2015, region="Northeast")) == pytest.approx(expect, rel=1e-12)
    assert math.isnan(float(reg["death_rate"].sel(year=2000, region="Northeast")))  # Heilongjiang missing


def test_life_expectancy_only_census_years(reg):
    le = reg["life_expectancy"].dropna("year", how="all")
    assert list(le.year.values) == [2000, 2010]
    assert (le.sel(year=2010) > le.sel(year=2000)).all()


def test_national_nbs_values():
    nat = load_national_demography(RAW)
    assert nat.loc[2015, "population"] == pytest.approx(1374.62)  # 137462 万人
    assert nat.loc[2010, "life_expectancy"] == pytest.approx(74.83)
    assert math.isnan(nat.loc[2011, "life_expectancy"])


def test_wpp2015_published_figures():
    """Published WPP 2015 figures for China (thousands): 2015 1,376,049; 2050 medium 1,348,056;
    2100 medium 1,004,392, low 612,731, high 1,554,537; TFR 2010-2015 1.55."""
    w = load_wpp2015(RAW)
    pop = w["population"].sel(age_group="total")
    assert float(pop.sel(variant="estimate", year=2015)) == pytest.approx(1376.049, abs=5e-4)
    assert float(pop.sel(variant="medium", year=2050)) == pytest.approx(1348.056, abs=5e-4)
    for variant, value in (("medium", 1004.392), ("low", 612.731), ("high", 1554.537)):
        assert float(pop.sel(variant=variant, year=2100)) == pytest.approx(value, abs=5e-4)
    assert float(w["tfr"].sel(variant="estimate", period="2010-2015")) == 1.55
    assert w.attrs["vintage"].startswith("WPP 2015")
    # age groups add up to the total, and the 95% interval brackets the medium variant
    parts = w["population"].sel(variant="medium", age_group=["0-14", "15-64", "65+"]).sum("age_group")
    np.testing.assert_allclose(parts.sel(year=slice(2020, 2100)), pop.sel(variant="medium", year=slice(2020, 2100)),
                               rtol=1e-9)
    med = pop.sel(variant="medium", year=slice(2020, 2100))
    assert (pop.sel(variant="lower95", year=slice(2020, 2100)) <= med).all()
    assert (pop.sel(variant="upper95", year=slice(2020, 2100)) >= med).all()


def test_wpp_duplicate_row_reported(tmp_path):
    for f in ("regions.csv", WPP_POP, "national_un_wpp2015_fertility_life_expectancy.csv"):
        shutil.copy(RAW / f, tmp_path / f)
    lines = (tmp_path / WPP_POP).read_text(encoding="utf-8").splitlines(keepends=True)
    (tmp_path / WPP_POP).write_text("".join(lines + [lines[1]]), encoding="utf-8")
    with pytest.raises(DataError, match=rf"{WPP_POP}, line {len(lines) + 1}: duplicate"):
        load_wpp2015(tmp_path)


def test_national_fertility_survey():
    from sd_model.data_demography import load_national_fertility
    f = load_national_fertility(RAW)
    assert list(f.index) == [2003, 2004, 2005, 2006, 2008, 2009, 2011, 2013, 2014, 2015]
    # the derived TFR (single-year rates) agrees with 5 x the five-year rates within 0.03 child
    five = f[[c for c in f.columns if c.startswith("asfr_")]].sum(axis=1) * 5 / 1000
    np.testing.assert_allclose(f["tfr"], five, atol=0.03)
    assert f.loc[2015, "tfr"] == pytest.approx(1.0473)


def test_net_migration_residual_independent(reg):
    pop = {(r["province"], int(r["year"])): float(r["population_10k_persons"]) / 100
           for r in rows("provincial_population.csv")}
    ng = {(r["province"], int(r["year"])): float(r["natural_growth_rate_per_mille"])
          for r in rows("provincial_birth_death_rates.csv")}
    ps = provinces_of("East")
    p1, p0 = sum(pop[p, 2012] for p in ps), sum(pop[p, 2011] for p in ps)
    rate = sum(ng[p, 2012] * pop[p, 2012] for p in ps) / p1
    expect = (p1 - p0) - rate / 1000 * (p1 + p0) / 2
    assert float(reg["net_migration_residual"].sel(year=2012, region="East")) == pytest.approx(expect, rel=1e-9)
    # the East gains and the Central region loses over 2011-2015 in sum
    five = reg["net_migration_residual"].sel(year=slice(2011, 2015)).sum("year")
    assert float(five.sel(region="East")) > 0 > float(five.sel(region="Central"))


def test_wpp_children_add_up_to_the_0_14_group():
    """The five-year groups of national_un_wpp2015_children.csv (a second extract of the same WPP
    files) sum to the 0-14 group of national_un_wpp2015_population.csv in every year."""
    from sd_model.data_demography import load_wpp2015_children
    kids = load_wpp2015_children(RAW).sum("age_group")
    broad = {(r["variant"], int(r["year"])): float(r["population_1000_persons"]) / 1000
             for r in rows("national_un_wpp2015_population.csv") if r["age_group"] == "0-14"}
    for year in kids["year"].values:
        variant = "estimate" if year <= 2015 else "medium"
        assert float(kids.sel(year=year)) == pytest.approx(broad[(variant, int(year))], abs=2e-6)


def test_maturation_rate_path_from_the_csv_and_in_the_model():
    """Recomputed with the csv module: 10-14 at t / 5 over the mean 0-14 of t and t + 5, at t + 2.5;
    the model's Maturation Rate Path holds the same points rounded to four decimals."""
    import re
    from pathlib import Path

    from sd_model.data_demography import maturation_rate_path
    groups: dict[int, dict[str, float]] = {}
    for r in rows("national_un_wpp2015_children.csv"):
        groups.setdefault(int(r["year"]), {})[r["age_group"]] = float(r["population_1000_persons"])
    years = sorted(groups)
    expected = {y + 2.5: groups[y]["10-14"] / 5 / ((sum(groups[y].values()) + sum(groups[n].values())) / 2)
                for y, n in zip(years, years[1:])}
    path = maturation_rate_path(RAW)
    assert list(path.index) == list(expected)
    np.testing.assert_allclose(path.to_numpy(), list(expected.values()), rtol=1e-12)
    # 2000-2005: 131.1 million aged 10-14 in 2000 entered working age, 0.090 of the 0-14 stock a year
    assert path[2002.5] == pytest.approx(0.0903, abs=5e-5)
    text = (Path(__file__).resolve().parents[1] / "vensim" / "regional_finance_economy.mdl").read_text(encoding="utf-8")
    block = re.search(r"^Maturation Rate Path\((.*?)\)\s*~", text, re.S | re.M).group(1)
    points = [(float(x), float(v)) for x, v in re.findall(r"\(([\d.]+),([\d.]+)\)", block)]
    assert points == [(y, round(v, 4)) for y, v in path.items()]


def test_older_ages_agree_with_the_age_totals_of_the_same_revision():
    """The 65+ of the older-ages extract (eight five-year groups summed) is the 65+ of the age-total file, an
    extract made separately from the same UN files, in every year both hold."""
    from sd_model.data_demography import load_wpp2015_older
    older = load_wpp2015_older(RAW)
    totals = {(r["variant"], int(r["year"])): float(r["population_1000_persons"]) / 1000
              for r in rows(WPP_POP) if r["age_group"] == "65+" and r["variant"] in ("estimate", "medium")}
    years = [int(y) for y in older["year"].values]
    assert years == list(range(1975, 2101, 5))
    for y in years:
        variant = "estimate" if y <= 2015 else "medium"
        assert float(older.sel(year=y, age_group="65+")) == pytest.approx(totals[(variant, y)], abs=1e-6)
    # published: 131.4 million aged 65+ in 2015, 371.4 in 2050 (medium)
    assert float(older.sel(year=2015, age_group="65+")) == pytest.approx(131.43, abs=0.01)
    assert float(older.sel(year=2050, age_group="65+")) == pytest.approx(371.39, abs=0.01)


def test_cohort_rates_from_the_csv_and_in_the_model():
    """Births, ageing and mortality of each five-year period, recomputed with the csv module from the three UN
    extracts; the model's four paths hold the same values after 2015, rounded to five decimals, and their points up
    to 2015 (the NBS-based history) are not these."""
    import re
    from pathlib import Path

    from sd_model.data_demography import COHORT_RATE_LOOKUPS, cohort_rates

    def table(name, variants=("estimate", "medium")):
        out: dict[tuple[int, str], float] = {}
        for r in rows(name):
            if r["variant"] in variants:
                out[(int(r["year"]), r["age_group"])] = float(r["population_1000_persons"])
        return out
    kids, older, ages = (table("national_un_wpp2015_children.csv"), table("national_un_wpp2015_older.csv"),
                         table(WPP_POP))
    years = list(range(1975, 2101, 5))
    expected = {}
    for y, n in zip(years, years[1:]):
        w = (ages[(y, "15-64")] + ages[(n, "15-64")]) / 2
        e = (older[(y, "65+")] + older[(n, "65+")]) / 2
        entries = (older[(y, "60-64")] + older[(n, "65-69")]) / 2
        expected[y + 2.5] = (kids[(n, "0-4")] / 5 / w, entries / 5 / w,
                             (ages[(y, "15-64")] + kids[(y, "10-14")] - entries - ages[(n, "15-64")]) / 5 / w,
                             (older[(y, "65+")] + entries - older[(n, "65+")]) / 5 / e)
    rates = cohort_rates(RAW)
    assert list(rates.index) == list(expected)
    np.testing.assert_allclose(rates.to_numpy(), np.array(list(expected.values())), rtol=1e-12)
    # 2015-2020: 15.0 entries into 65+ per thousand working-age residents, 4.9% of the 65+ dying a year
    assert rates.loc[2017.5, "ageing_rate"] == pytest.approx(0.01496, abs=5e-6)
    assert rates.loc[2017.5, "elderly_mortality"] == pytest.approx(0.0487, abs=5e-5)
    text = (Path(__file__).resolve().parents[1] / "vensim" / "regional_finance_economy.mdl").read_text(encoding="utf-8")
    for column, lookup in COHORT_RATE_LOOKUPS.items():
        block = re.search(rf"^{lookup}\((.*?)\)\s*~", text, re.S | re.M).group(1)
        points = [(float(x), float(v)) for x, v in re.findall(r"\(([\d.]+),([\d.]+)\)", block)]
        later = [(x, v) for x, v in points if x > 2015]
        assert later == [(y, round(v, 5)) for y, v in rates[column].items() if y > 2015], lookup
        assert max(x for x, _ in points if x <= 2015) == 2015   # the history ends at the splice
