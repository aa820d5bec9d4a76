"""Local-government (financing-vehicle) debt by province and region, from the audits.

Three raw files (provenance and caveats in ``data/raw/SOURCES.md``):

- ``provincial_government_debt.csv``: debt by province and date as published (2010 partial,
  the January-2014 audit announcements of five provinces for June 2013, and the end-2015
  debt the governments must repay of 25 provinces as charted by Yicai/第一财经日报);
- ``provincial_government_debt_growth_2013_2015.csv``: the same chart's growth of that debt
  from June 2013 to end-2015, per province (percent);
- ``national_government_debt_audit.csv``: the National Audit Office's national totals.

Amounts are returned in model units, **billion yuan** (亿元 / 10).
"""
from __future__ import annotations

import os

import numpy as np
import pandas as pd
import xarray as xr

from .data import _number, _rows, load_provincial, load_regions, resolve_data_dir
from .data_panel import REGIONS
from .errors import DataError, did_you_mean

PROVINCIAL_FILE = "provincial_government_debt.csv"
GROWTH_FILE = "provincial_government_debt_growth_2013_2015.csv"
NATIONAL_FILE = "national_government_debt_audit.csv"

# Debt categories of the audits (审计署 2011年第35号 and 2013年第32号公告).
CATEGORIES = {
    "repay_liable": "debt the government must repay (政府负有偿还责任的债务)",
    "guarantee": "debt the government guarantees (政府负有担保责任的债务)",
    "possible_rescue": "debt the government may have to rescue (可能承担一定救助责任的债务)",
    "other_2010": "other related debt of the 2010 audit (其他相关债务; about the later 'possible_rescue')",
    "total_government_debt": "all government-related debt (政府性债务余额), the three categories added",
    "local_government_debt_total": "local government debt after the 2015 screening (地方政府债务余额)",
    "local_government_debt_general": "its general-debt part (一般债务)",
    "local_government_debt_special": "its special-debt part (专项债务)",
}
LEVELS = ("all", "central", "local")
MEASURES = ("stock_2013h1", "stock_2015", "flow_2013h2_2015")


def _date(path, line: int, text: str) -> pd.Timestamp:
    try:
        date = pd.Timestamp(text)
    except ValueError:
        date = pd.NaT
    if pd.isna(date) or not 1990 <= date.year <= 2015:
        raise DataError(f"{path}, line {line}: date {text!r} is not a date YYYY-MM-DD within 1990-2015")
    return date


def _category(path, line: int, text: str) -> str:
    if text not in CATEGORIES:
        tail = did_you_mean(text, CATEGORIES, f"valid categories are {', '.join(CATEGORIES)}", n=1)
        raise DataError(f"{path}, line {line}: unknown debt_category {text!r}{tail}")
    return text


def load_provincial_debt(data_dir: str | os.PathLike | None = None) -> pd.DataFrame:
    """Local-government debt by province as published, one row per (province, date, category).

    Returns
    -------
    pandas.DataFrame
        Columns ``province``, ``region``, ``date`` (Timestamp), ``category`` (a key of
        :data:`CATEGORIES`), ``value`` (**billion yuan**), ``coverage`` (what the figure covers,
        e.g. "all levels excluding Ningbo") and ``source``. Not a balanced panel: most provinces
        appear in one date only (``data/raw/SOURCES.md``).

    Raises
    ------
    sd_model.errors.DataError
        Missing file or column, unknown province or category, bad date or number, duplicate
        (province, date, category); the message names the file and the line.
    """
    folder = resolve_data_dir(data_dir)
    regions = load_regions(folder)
    path = folder / PROVINCIAL_FILE
    seen: dict[tuple, int] = {}
    records = []
    for line, row in _rows(path, ("province", "date", "debt_category", "value_100m_yuan", "coverage", "source")):
        prov = row["province"]
        if prov not in regions:
            tail = did_you_mean(prov, regions, "provinces are listed in regions.csv")
            raise DataError(f"{path}, line {line}: unknown province {prov!r}{tail}")
        key = (prov, _date(path, line, row["date"]), _category(path, line, row["debt_category"]))
        if key in seen:
            raise DataError(f"{path}, line {line}: duplicate (province, date, debt_category); "
                            f"first on line {seen[key]}")
        seen[key] = line
        value = _number(path, line, "value_100m_yuan", row["value_100m_yuan"])
        records.append((prov, regions[prov], *key[1:], value / 10, row["coverage"], row["source"]))
    df = pd.DataFrame(records, columns=["province", "region", "date", "category", "value", "coverage", "source"])
    df.attrs.update(source=PROVINCIAL_FILE, units="billion yuan (stock at date)")
    return df


def load_national_debt(data_dir: str | os.PathLike | None = None) -> pd.DataFrame:
    """National audit totals: ``date``, ``level`` (all/central/local), ``category``, ``value`` (billion yuan)."""
    path = resolve_data_dir(data_dir) / NATIONAL_FILE
    records: list[tuple] = []
    seen: dict[tuple, int] = {}
    for line, row in _rows(path, ("date", "government_level", "debt_category", "value_100m_yuan")):
        if row["government_level"] not in LEVELS:
            raise DataError(f"{path}, line {line}: government_level {row['government_level']!r} is not one of "
                            f"{', '.join(LEVELS)}")
        key = (_date(path, line, row["date"]), row["government_level"], _category(path, line, row["debt_category"]))
        if key in seen:
            raise DataError(f"{path}, line {line}: duplicate row; first on line {seen[key]}")
        seen[key] = line
        records.append((*key, _number(path, line, "value_100m_yuan", row["value_100m_yuan"]) / 10))
    df = pd.DataFrame(records, columns=["date", "level", "category", "value"])
    df.attrs.update(source=NATIONAL_FILE, units="billion yuan (stock at date)")
    return df


def load_debt_growth_2013_2015(data_dir: str | os.PathLike | None = None) -> pd.Series:
    """Growth of repay-liable debt from June 2013 to end-2015 by province (percent), as charted by Yicai."""
    folder = resolve_data_dir(data_dir)
    regions = load_regions(folder)
    path = folder / GROWTH_FILE
    out: dict[str, float] = {}
    for line, row in _rows(path, ("province", "growth_2013h1_to_2015_pct")):
        if row["province"] not in regions or row["province"] in out:
            raise DataError(f"{path}, line {line}: province {row['province']!r} unknown or given twice")
        value = _number(path, line, "growth_2013h1_to_2015_pct", row["growth_2013h1_to_2015_pct"])
        if value <= -100:
            raise DataError(f"{path}, line {line}: growth {value}% would leave no debt (must exceed -100)")
        out[row["province"]] = value
    s = pd.Series(out, name="growth_pct", dtype=float)
    s.index.name = "province"
    s.attrs.update(source=GROWTH_FILE, units="percent, June 2013 to end-2015")
    return s


def provincial_repay_liable(data_dir: str | os.PathLike | None = None) -> pd.DataFrame:
    """Repay-liable debt by province in June 2013 and at end-2015 (billion yuan).

    ``stock_2015`` is the charted end-2015 value. ``stock_2013h1`` is the audit announcement
    where one was found, else **derived** as ``stock_2015 / (1 + growth / 100)`` from the chart's
    rounded growth (error up to about 0.03% of the value); ``basis_2013h1`` says which. Provinces
    with neither are absent (Tianjin, Hainan, Hunan, Qinghai, Tibet; Henan has 2013 only).
    """
    folder = resolve_data_dir(data_dir)
    debt = load_provincial_debt(folder)
    liable = debt[debt["category"] == "repay_liable"]
    s2015 = liable[liable["date"] == pd.Timestamp("2015-12-31")].set_index("province")["value"]
    announced = liable[liable["date"] == pd.Timestamp("2013-06-30")].set_index("province")["value"]
    growth = load_debt_growth_2013_2015(folder)
    missing = sorted(set(s2015.index) ^ set(growth.index))
    if missing:
        raise DataError(f"{PROVINCIAL_FILE} and {GROWTH_FILE}: the end-2015 values and the growth rates cover "
                        f"different provinces ({', '.join(missing)})")
    derived = s2015 / (1 + growth.reindex(s2015.index) / 100)
    out = pd.DataFrame({"stock_2013h1": derived, "stock_2015": s2015})
    out["basis_2013h1"] = "derived from the chart's growth"
    out = out.reindex(out.index.union(announced.index))
    out.loc[announced.index, "stock_2013h1"] = announced
    out.loc[announced.index, "basis_2013h1"] = "audit announcement"
    regions = load_regions(folder)
    out.insert(0, "region", [regions[p] for p in out.index])
    out.index.name = "province"
    out.attrs.update(units="billion yuan", source=f"{PROVINCIAL_FILE}, {GROWTH_FILE}")
    return out


def regional_debt_ratios(data_dir: str | os.PathLike | None = None) -> xr.Dataset:
    """Debt/GDP by region relative to all covered provinces: the data for a vehicle-borrowing factor.

    For each measure, only provinces with a value count, in the debt and in the GDP:

    - ``stock_2013h1``: repay-liable debt in June 2013 / nominal GDP of 2013;
    - ``stock_2015``: end-2015 repay-liable debt / nominal GDP of 2015;
    - ``flow_2013h2_2015``: end-2015 minus June-2013 debt (provinces of the chart only) /
      GDP of the period (half of 2013 plus 2014 and 2015).

    Returns
    -------
    xarray.Dataset
        Dims ``(measure, region)``: ``debt`` and ``gdp`` (billion yuan; GDP of the covered
        provinces), ``gdp_coverage`` (covered / whole-region GDP, fraction), ``debt_to_gdp``
        (fraction; years of GDP for the stocks) and ``factor`` (region's ``debt_to_gdp`` over that
        of all covered provinces, dimensionless: 1 = the average). ``covered`` (dim ``measure``)
        is the national ``debt_to_gdp`` of the covered provinces.
    """
    folder = resolve_data_dir(data_dir)
    stocks = provincial_repay_liable(folder)
    gdp = load_provincial("gdp_nominal", folder).pivot(index="year", columns="province", values="value")
    inputs = {
        "stock_2013h1": (stocks["stock_2013h1"], gdp.loc[2013]),
        "stock_2015": (stocks["stock_2015"], gdp.loc[2015]),
        "flow_2013h2_2015": (stocks["stock_2015"] - stocks["stock_2013h1"],
                             0.5 * gdp.loc[2013] + gdp.loc[2014] + gdp.loc[2015]),
    }
    regions = pd.Series(load_regions(folder))
    shape = (len(MEASURES), len(REGIONS))
    arrays = {k: np.full(shape, np.nan) for k in ("debt", "gdp", "gdp_coverage")}
    covered = np.full(len(MEASURES), np.nan)
    for i, measure in enumerate(MEASURES):
        debt, y = inputs[measure]
        debt = debt.dropna()
        by_region = {"debt": debt.groupby(regions[debt.index]).sum(),
                     "gdp": y[debt.index].groupby(regions[debt.index]).sum()}
        whole = y.groupby(regions[y.index]).sum()
        for j, reg in enumerate(REGIONS):
            arrays["debt"][i, j] = by_region["debt"].get(reg, np.nan)
            arrays["gdp"][i, j] = by_region["gdp"].get(reg, np.nan)
            arrays["gdp_coverage"][i, j] = arrays["gdp"][i, j] / whole[reg]
        covered[i] = debt.sum() / y[debt.index].sum()
    ratio = arrays["debt"] / arrays["gdp"]
    dims = ("measure", "region")
    return xr.Dataset(
        {"debt": (dims, arrays["debt"], {"units": "billion yuan"}),
         "gdp": (dims, arrays["gdp"], {"units": "billion yuan (sum over the measure's years)"}),
         "gdp_coverage": (dims, arrays["gdp_coverage"], {"units": "1 (fraction of the region's GDP)"}),
         "debt_to_gdp": (dims, ratio, {"units": "1 (debt / GDP of the covered provinces)"}),
         "factor": (dims, ratio / covered[:, None], {"units": "1 (relative to all covered provinces)"}),
         "covered": ("measure", covered, {"units": "1 (debt / GDP of all covered provinces)"})},
        coords={"measure": list(MEASURES), "region": list(REGIONS)},
        attrs={"source": f"{PROVINCIAL_FILE}, {GROWTH_FILE}, provincial_gdp_nominal.csv",
               "note": "Repay-liable debt only (no guarantees or possible rescues). Missing provinces "
                       "are left out of debt and GDP alike, never filled."})
