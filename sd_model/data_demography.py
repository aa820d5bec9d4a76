"""Demographic data by macro-region and nationally, and the UN projections for China.

Age structure, vital rates and life expectancy by macro-region (NBS, 2000-2015), national NBS
demography, and the UN World Population Prospects 2015 projections for China (published in
2015; a projection, not post-2015 data).

Provenance and caveats of every file are in ``data/raw/SOURCES.md``. Amounts are returned in
model units (million persons); rates as printed (per 1000 persons per year), shares as fractions.
"""
from __future__ import annotations

import os

import numpy as np
import pandas as pd
import xarray as xr

from .data import _number, _rows, _year, load_provincial, load_regions, read_yearly, resolve_data_dir
from .data_panel import REGIONS, regional_sum, regional_weighted_mean, wide
from .errors import DataError

AGE_GROUPS = ("0-14", "15-64", "65+")
_AGE_SERIES = {"0-14": "age_sample_0_14", "15-64": "age_sample_15_64", "65+": "age_sample_65plus"}
WPP_POP = "national_un_wpp2015_population.csv"
WPP_RATES = "national_un_wpp2015_fertility_life_expectancy.csv"
WPP_CHILDREN = "national_un_wpp2015_children.csv"
CHILD_AGE_GROUPS = ("0-4", "5-9", "10-14")
WPP_OLDER = "national_un_wpp2015_older.csv"
OLDER_AGE_GROUPS = ("60-64", "65-69", "65+")
#: cohort_rates() column -> the model lookup that takes it after 2015
COHORT_RATE_LOOKUPS = {"birth_rate": "Birth Rate Path", "ageing_rate": "Ageing Path",
                       "working_age_mortality": "Working Age Mortality Path",
                       "elderly_mortality": "Elderly Mortality Path"}
NBS_NATIONAL = "national_demography_nbs.csv"

#: The provincial files :func:`load_regional_demography` reads (through ``load_provincial``);
#: callers that use it only when the data are there check for these.
REGIONAL_DEMOGRAPHY_FILES = ("provincial_birth_death_rates.csv", "provincial_age_structure_sample_survey.csv",
                             "provincial_life_expectancy_census.csv", "provincial_population.csv")


def _attrs(units, source, note):
    return {"units": units, "source": source, "note": note}


def load_regional_demography(data_dir: str | os.PathLike | None = None) -> xr.Dataset:
    """Age structure, vital rates and life expectancy by (year, region), 2000-2015.

    Returns
    -------
    xarray.Dataset
        - ``age_share`` (year, region, age_group): share of each age group in the summed
          sample-survey counts of the region's provinces (fraction; 2002-2009, 2011-2015; none
          in 2000, 2001 and the census year 2010).
        - ``age_population`` (year, region, age_group): ``age_share`` x regional year-end
          population (million persons), a derived estimate.
        - ``birth_rate``, ``death_rate``, ``natural_growth_rate`` (year, region): provincial
          rates averaged with year-end population weights (per 1000 persons per year).
        - ``life_expectancy`` (year, region): census life expectancy at birth (2000, 2010),
          population-weighted mean of the provinces (years; an approximation: the mean of
          provincial life expectancies is not the life expectancy of the pooled population).
        - ``net_migration_residual`` (year, region): population change minus natural increase,
          million persons/year, 2001-2015 (a residual carrying every statistical break).
    """
    folder = resolve_data_dir(data_dir)
    regions = load_regions(folder)
    years = np.arange(2000, 2016)
    pop = wide(load_provincial("population", folder), years)
    total = regional_sum(wide(load_provincial("age_sample_total", folder), years), regions)
    counts = np.stack([regional_sum(wide(load_provincial(_AGE_SERIES[g], folder), years), regions)
                       for g in AGE_GROUPS], axis=-1)
    share = counts / total[:, :, None]
    src_age = "provincial_age_structure_sample_survey.csv"
    reg_pop = regional_sum(pop, regions)
    data: dict[str, tuple] = {
        "age_share": (("year", "region", "age_group"), share, _attrs(
            "1 (fraction)", src_age,
            "Summed provincial sample counts of the age group / summed sample population. 2005 and 2015 "
            "are the 1% population sample surveys, other years the ~1 per mille annual surveys; 2010 "
            "(census) is not in the source.")),
        "age_population": (("year", "region", "age_group"), share * reg_pop[:, :, None], _attrs(
            "million persons", f"{src_age}, provincial_population.csv",
            "DERIVED: age_share x regional year-end population (sum of provinces).")),
    }
    for var in ("birth_rate", "death_rate", "natural_growth_rate"):
        data[var] = (("year", "region"), regional_weighted_mean(wide(load_provincial(var, folder), years),
                                                                pop, regions), _attrs(
            "per 1000 persons per year", "provincial_birth_death_rates.csv, provincial_population.csv",
            "Provincial rates averaged with year-end resident population weights; NaN where a province "
            "is missing (2000: Heilongjiang and one more province have no rates)."))
    data["life_expectancy"] = (("year", "region"), regional_weighted_mean(
        wide(load_provincial("life_expectancy", folder), years), pop, regions), _attrs(
        "years", "provincial_life_expectancy_census.csv, provincial_population.csv",
        "Census life expectancy at birth (2000, 2010), provincial values averaged with population "
        "weights (an approximation)."))
    natural = data["natural_growth_rate"][1]
    mid = (reg_pop[1:] + reg_pop[:-1]) / 2
    resid = np.full_like(reg_pop, np.nan)
    resid[1:] = (reg_pop[1:] - reg_pop[:-1]) - natural[1:] / 1000 * mid
    data["net_migration_residual"] = (("year", "region"), resid, _attrs(
        "million persons/year", "provincial_population.csv, provincial_birth_death_rates.csv",
        "DERIVED residual: change of year-end population minus natural increase (regional natural growth "
        "rate x mean population of the two year-ends), 2001-2015. Absorbs every statistical break: the "
        "population re-basing on the 2005 1% survey and the 2010 census (large values in those years), "
        "the resident-population definition of 2000-2004, and under-counted provincial births and deaths "
        "(provincial rates sum below the national ones). Use signs and multi-year sums, not single years."))
    ds = xr.Dataset(data, coords={"year": years, "region": list(REGIONS), "age_group": list(AGE_GROUPS)})
    ds.attrs.update(provenance="see SOURCES.md in the data folder")
    return ds


def load_national_demography(data_dir: str | os.PathLike | None = None) -> pd.DataFrame:
    """National NBS demography 2000-2015 (``national_demography_nbs.csv``), indexed by year.

    Columns: ``population``, ``age_0_14``, ``age_15_64``, ``age_65plus`` (million persons, year
    end), ``birth_rate``, ``death_rate``, ``natural_growth_rate`` (per 1000 per year),
    ``life_expectancy``, ``life_expectancy_male``, ``life_expectancy_female`` (years; only 2000,
    2005, 2010, 2015). Missing cells are NaN.
    """
    path = resolve_data_dir(data_dir) / NBS_NATIONAL
    spec = {"population_year_end_10k_persons": ("population", 0.01), "age_0_14_10k_persons": ("age_0_14", 0.01),
            "age_15_64_10k_persons": ("age_15_64", 0.01), "age_65plus_10k_persons": ("age_65plus", 0.01),
            "birth_rate_per_mille": ("birth_rate", 1.0), "death_rate_per_mille": ("death_rate", 1.0),
            "natural_growth_rate_per_mille": ("natural_growth_rate", 1.0),
            "life_expectancy_years": ("life_expectancy", 1.0),
            "life_expectancy_male_years": ("life_expectancy_male", 1.0),
            "life_expectancy_female_years": ("life_expectancy_female", 1.0)}
    df = read_yearly(path, {c: n for c, (n, _) in spec.items()}, blanks=True) * np.array([f for _, f in spec.values()])
    df.attrs.update(source=NBS_NATIONAL, units={"population": "million persons", "birth_rate": "per 1000 per year",
                                                "life_expectancy": "years"})
    return df


def load_wpp2015(data_dir: str | os.PathLike | None = None) -> xr.Dataset:
    """UN World Population Prospects, 2015 revision, for China (mainland).

    Returns
    -------
    xarray.Dataset
        - ``population`` (variant, year, age_group): million persons at mid-year; variants
          ``estimate`` (1950-2015), ``medium``, ``low``, ``high`` (2020-2100; low/high = medium
          fertility -/+ 0.5 child), and ``lower80``/``upper80``/``lower95``/``upper95`` (total
          only, probabilistic intervals, 2015-2100); age groups ``total``, ``0-14``, ``15-64``,
          ``65+``. NaN where a variant has no value.
        - ``tfr`` (variant, period): children per woman; ``e0_male``, ``e0_female`` (variant,
          period): life expectancy at birth, years. Five-year periods ``"1950-1955"`` ...
          ``"2095-2100"``.
        ``attrs["vintage"]`` = ``"WPP 2015 revision (published July 2015)"``.
    """
    folder = resolve_data_dir(data_dir)
    path = folder / WPP_POP
    recs = {}
    for line, row in _rows(path, ("variant", "year", "age_group", "population_1000_persons")):
        key = (row["variant"], _year(path, line, row["year"]), row["age_group"])
        if key in recs:
            raise DataError(f"{path}, line {line}: duplicate {key}")
        recs[key] = _number(path, line, "population_1000_persons", row["population_1000_persons"]) / 1000
    s = pd.Series(recs)
    s.index.names = ["variant", "year", "age_group"]
    pop = xr.DataArray.from_series(s).reindex(age_group=["total", *AGE_GROUPS])
    path2 = folder / WPP_RATES
    cols = ("tfr_children_per_woman", "e0_male_years", "e0_female_years")
    rates = {}
    for line, row in _rows(path2, ("variant", "period", *cols)):
        rates[(row["variant"], row["period"])] = [np.nan if row[c] == "" else _number(path2, line, c, row[c])
                                                  for c in cols]
    r = pd.DataFrame.from_dict(rates, orient="index", columns=["tfr", "e0_male", "e0_female"])
    r.index = pd.MultiIndex.from_tuples(r.index, names=["variant", "period"])
    rx = xr.Dataset.from_dataframe(r)
    ds = xr.Dataset({"population": pop.assign_attrs(units="million persons (mid-year)", source=WPP_POP)})
    for v, u in (("tfr", "children per woman"), ("e0_male", "years"), ("e0_female", "years")):
        ds[v] = rx[v].assign_attrs(units=u, source=WPP_RATES)
    ds.attrs.update(vintage="WPP 2015 revision (published July 2015)", area="China (mainland), UN code 156")
    return ds


def _load_wpp_groups(name: str, groups: tuple[str, ...], data_dir: str | os.PathLike | None) -> xr.DataArray:
    """A WPP 2015 extract of age groups (estimates to 2015, medium variant after) as (year, age_group)."""
    path = resolve_data_dir(data_dir) / name
    recs: dict[tuple[int, str], float] = {}
    for line, row in _rows(path, ("variant", "year", "age_group", "population_1000_persons")):
        if row["variant"] not in ("estimate", "medium"):
            raise DataError(f"{path}, line {line}: variant {row['variant']!r}; valid: estimate, medium")
        if row["age_group"] not in groups:
            raise DataError(f"{path}, line {line}: age_group {row['age_group']!r}; valid: " + ", ".join(groups))
        key = (_year(path, line, row["year"]), row["age_group"])
        if key in recs:
            raise DataError(f"{path}, line {line}: duplicate {key}")
        recs[key] = _number(path, line, "population_1000_persons", row["population_1000_persons"]) / 1000
    s = pd.Series(recs)
    s.index.names = ["year", "age_group"]
    return xr.DataArray.from_series(s).reindex(age_group=list(groups)).assign_attrs(
        units="million persons (mid-year)", source=name)


def load_wpp2015_children(data_dir: str | os.PathLike | None = None) -> xr.DataArray:
    """Children of China by five-year age group, UN WPP 2015 (``national_un_wpp2015_children.csv``).

    Returns
    -------
    xarray.DataArray
        Million persons at mid-year, dims (year, age_group) with age groups ``0-4``, ``5-9``,
        ``10-14``: the ``estimate`` variant for 1975-2015 and the ``medium`` variant (projections
        made in 2015) for 2020-2100, every five years.
    """
    return _load_wpp_groups(WPP_CHILDREN, CHILD_AGE_GROUPS, data_dir)


def load_wpp2015_older(data_dir: str | os.PathLike | None = None) -> xr.DataArray:
    """Older ages of China, UN WPP 2015 (``national_un_wpp2015_older.csv``).

    Returns
    -------
    xarray.DataArray
        Million persons at mid-year, dims (year, age_group) with age groups ``60-64``, ``65-69``
        and ``65+``: the ``estimate`` variant for 1975-2015 and the ``medium`` variant
        (projections made in 2015) for 2020-2100, every five years.
    """
    return _load_wpp_groups(WPP_OLDER, OLDER_AGE_GROUPS, data_dir)


def maturation_rate_path(data_dir: str | os.PathLike | None = None) -> pd.Series:
    """Share of the 0-14 population turning 15 per year, national, by five-year period (1/year).

    For the period starting in year ``t``: the 10-14 group at ``t`` over five (those turning 15
    in the next five years; deaths at 10-19 are negligible), divided by the mean of the 0-14
    population at ``t`` and ``t + 5``. Indexed by the middle of the period (``t + 2.5``); the
    model's ``Maturation Rate Path`` is this series rounded to four decimals.
    """
    kids = load_wpp2015_children(data_dir)
    total = kids.sum("age_group").to_series()
    older = kids.sel(age_group="10-14").to_series()
    years = list(total.index)
    rate = {y + 2.5: older[y] / 5 / ((total[y] + total[nxt]) / 2) for y, nxt in zip(years, years[1:])}
    return pd.Series(rate, name="maturation_rate").rename_axis("year")


def cohort_rates(data_dir: str | os.PathLike | None = None) -> pd.DataFrame:
    """Births, ageing and mortality per year of the model's age chain, national, from the UN's cohorts.

    For each five-year period from ``t`` to ``t + 5`` (UN WPP 2015: estimates to 2015, the
    medium variant after), with C, W and E the 0-14, 15-64 and 65+ populations and means taken
    over ``t`` and ``t + 5``:

    - ``birth_rate``: the 0-4 group at ``t + 5`` (the period's births, less the few who died
      before the count) / 5 over the mean W: births per working-age resident, the model's unit;
    - ``ageing_rate``: entries into 65+ / 5 over the mean W, the entries being the mean of the
      60-64 group at ``t`` and the 65-69 group at ``t + 5`` (the same cohorts before and after the
      deaths of the crossing years, so about half of those deaths count);
    - ``working_age_mortality``: the deaths that close the 15-64 balance, W(t) + the 10-14 group at
      ``t`` (entries, as in :func:`maturation_rate_path`) - entries into 65+ - W(t + 5), / 5 over
      the mean W (China's net international migration, about -0.3 million a year, is counted here
      too: 0.3 per thousand of W);
    - ``elderly_mortality``: the deaths that close the 65+ balance, E(t) + entries - E(t + 5), / 5
      over the mean E.

    Indexed by the middle of the period (``t + 2.5``), 1977.5-2097.5, in 1/year. After 2015 the
    model's ``Birth Rate Path``, ``Ageing Path``, ``Working Age Mortality Path`` and ``Elderly
    Mortality Path`` take these values (rounded to five decimals); before, they rest on the NBS
    counts (their comments).
    """
    older, kids = load_wpp2015_older(data_dir), load_wpp2015_children(data_dir)
    wpp = load_wpp2015(data_dir)["population"].sel(age_group="15-64")
    working = pd.concat([wpp.sel(variant=v).to_series().dropna() for v in ("estimate", "medium")])
    babies, teens = (kids.sel(age_group=g).to_series() for g in ("0-4", "10-14"))
    young_old, entered, elderly = (older.sel(age_group=g).to_series() for g in ("60-64", "65-69", "65+"))
    years = list(elderly.index)
    rows = {}
    for y, nxt in zip(years, years[1:]):
        mean_w, mean_e = (working[y] + working[nxt]) / 2, (elderly[y] + elderly[nxt]) / 2
        entries = (young_old[y] + entered[nxt]) / 2
        rows[y + 2.5] = (babies[nxt] / 5 / mean_w, entries / 5 / mean_w,
                         (working[y] + teens[y] - entries - working[nxt]) / 5 / mean_w,
                         (elderly[y] + entries - elderly[nxt]) / 5 / mean_e)
    return pd.DataFrame.from_dict(rows, orient="index", columns=list(COHORT_RATE_LOOKUPS)).rename_axis("year")


def load_national_fertility(data_dir: str | os.PathLike | None = None) -> pd.DataFrame:
    """National fertility from the NBS sample surveys (``national_fertility_sample_survey_nbs.csv``).

    Returns
    -------
    pandas.DataFrame
        Indexed by year (2003-2006, 2008, 2009, 2011, 2013-2015): ``general_fertility_rate``
        and the five-year age-specific rates ``asfr_15_19`` ... ``asfr_45_49`` (births per 1000
        women per year), and ``tfr`` (children per woman, derived: sum of the single-year rates
        / 1000). Unadjusted survey values, known to be low (UN WPP 2015: 1.55 for 2010-2015).
    """
    path = resolve_data_dir(data_dir) / "national_fertility_sample_survey_nbs.csv"
    ages = ("15_19", "20_24", "25_29", "30_34", "35_39", "40_44", "45_49")
    spec = {"general_fertility_rate_per_mille": "general_fertility_rate",
            **{f"asfr_{a}_per_mille": f"asfr_{a}" for a in ages}, "tfr_derived_children_per_woman": "tfr"}
    df = read_yearly(path, spec)
    df.attrs.update(source=path.name, units={"tfr": "children per woman", "asfr": "per 1000 women per year"})
    return df
