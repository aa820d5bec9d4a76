"""Aggregation of the provincial panel into the four macro-regions.

Pure functions on year x province tables (``pandas.DataFrame``, index ``year``, one column per
province); :mod:`sd_model.data` reads the files, this module only sums and weights them.
A regional value is formed only where every province of the region is present, so that a
missing province never shows up as a fall in the regional series.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

REGIONS = ("East", "Central", "West", "Northeast")


def wide(df: pd.DataFrame, years) -> pd.DataFrame:
    """Year x province table of ``df['value']`` (a tidy table of :func:`sd_model.data.load_provincial`)."""
    return df.pivot(index="year", columns="province", values="value").reindex(years)


def _complete(block: pd.DataFrame, chongqing_until: int | None) -> np.ndarray:
    """(year,) mask: every province of ``block`` present.

    With ``chongqing_until``, Chongqing may be missing in years before that year, where the
    source's Sichuan includes it.
    """
    present = block.notna()
    if chongqing_until is not None and "Chongqing" in present.columns:
        sichuan = present["Sichuan"] if "Sichuan" in present.columns else False
        present["Chongqing"] |= (block.index < chongqing_until) & sichuan
    return present.all(axis=1).to_numpy()


def regional_sum(table: pd.DataFrame, regions: dict[str, str], chongqing_in_sichuan=False,
                 chongqing_until: int = 1996) -> np.ndarray:
    """(year, region) sums of a year x province table, NaN unless every province is present.

    Parameters
    ----------
    table : pandas.DataFrame
        Year x province values (any additive unit).
    regions : dict
        Province -> region (:func:`sd_model.data.load_regions`).
    chongqing_in_sichuan : bool, optional
        Allow Chongqing to be missing before ``chongqing_until`` (Sichuan includes it).
        Default is False.
    chongqing_until : int, optional
        First year in which the source lists Chongqing separately. Default is 1996.

    Returns
    -------
    numpy.ndarray
        Shape (years, 4) in the order of :data:`REGIONS`, in the units of ``table``.
    """
    out = np.full((len(table.index), len(REGIONS)), np.nan)
    until = chongqing_until if chongqing_in_sichuan else None
    for j, reg in enumerate(REGIONS):
        block = table.reindex(columns=[p for p, r in regions.items() if r == reg])
        total = block.sum(axis=1, min_count=1).to_numpy()
        out[:, j] = np.where(_complete(block, until), total, np.nan)
    return out


def regional_weighted_mean(values: pd.DataFrame, weights: pd.DataFrame, regions: dict[str, str],
                           chongqing_in_sichuan=False, chongqing_until: int = 1996) -> np.ndarray:
    """(year, region) weighted means of a year x province table of rates or indices.

    A region's value is ``sum(w * v) / sum(w)`` over its provinces, NaN unless every province
    has both a value and a weight (Chongqing as in :func:`regional_sum`).

    Returns
    -------
    numpy.ndarray
        Shape (years, 4), in the units of ``values``.
    """
    out = np.full((len(values.index), len(REGIONS)), np.nan)
    until = chongqing_until if chongqing_in_sichuan else None
    for j, reg in enumerate(REGIONS):
        provs = [p for p, r in regions.items() if r == reg]
        v = values.reindex(columns=provs)
        w = weights.reindex(index=values.index, columns=provs)
        both = v.where(w.notna())
        ok = _complete(both, until)
        num = (v * w).sum(axis=1, min_count=1).to_numpy()
        den = w.where(v.notna()).sum(axis=1, min_count=1).to_numpy()
        with np.errstate(invalid="ignore", divide="ignore"):
            out[:, j] = np.where(ok, num / den, np.nan)
    return out


def chain_chongqing(price: pd.DataFrame, first_year: int = 1996) -> pd.DataFrame:
    """Fill Chongqing's missing price levels before ``first_year`` with Sichuan's, linked at ``first_year``.

    Before 1996/97 the sources list Sichuan including Chongqing; its price path stands for both.
    """
    price = price.copy()
    if {"Chongqing", "Sichuan"} <= set(price.columns) and first_year in price.index:
        early = price.index < first_year
        link = price.loc[first_year, "Chongqing"] / price.loc[first_year, "Sichuan"]
        price.loc[early, "Chongqing"] = price.loc[early, "Chongqing"].fillna(price.loc[early, "Sichuan"] * link)
    return price


def level_from_index(prev_year_eq100: pd.DataFrame, base_year: int = 2000) -> pd.DataFrame:
    """Price level (``base_year`` = 1) chained from a previous-year = 100 index, province by province.

    ``P[base] = 1``, ``P[t] = P[t-1] * I[t] / 100`` forward and ``P[t-1] = P[t] / (I[t] / 100)``
    backward. A gap in a province's index leaves every level beyond it NaN (nothing is bridged).
    """
    ratio = prev_year_eq100 / 100.0
    level = pd.DataFrame(np.nan, index=ratio.index, columns=ratio.columns)
    if base_year not in ratio.index:
        return level
    level.loc[base_year] = 1.0
    years = list(ratio.index)
    i0 = years.index(base_year)
    for i in range(i0 + 1, len(years)):
        level.iloc[i] = level.iloc[i - 1] * ratio.iloc[i]
    for i in range(i0 - 1, -1, -1):
        level.iloc[i] = level.iloc[i + 1] / ratio.iloc[i + 1]
    return level


def screen_price_level(level: pd.DataFrame, reference: pd.DataFrame, gap: float,
                       base_year: int = 2000) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``level`` with its implausible years' changes replaced by ``reference``'s, and the list of those years.

    A province-year is flagged where the log change of ``level`` (year x province, any base)
    differs from the log change of ``reference`` (the same table shape, e.g. the retail price
    level) by more than ``gap`` log points (100 x difference of log changes); its change is
    replaced by ``reference``'s. The result is chained from the changes and rebased so that
    ``base_year`` = 1; years without a flag keep their own changes, NaN stays NaN, and a
    province-year where either change is missing is never flagged.

    Returns
    -------
    (pandas.DataFrame, pandas.DataFrame)
        The screened level (``base_year`` = 1, dimensionless) and one row per flagged
        province-year: ``province``, ``year``, ``change`` and ``reference_change`` (log points).
    """
    own = np.log(level).diff()
    ref = np.log(reference.reindex_like(level)).diff()
    flagged = ((own - ref).abs() * 100.0 > gap) & own.notna() & ref.notna()
    step = (ref - own).where(flagged, 0.0)  # the correction to the log change, 0 where kept
    # corrections accumulate away from the base year: after it forward, before it backward
    later = pd.Series(step.index > base_year, index=step.index)
    after = step.mul(later, axis=0).cumsum()
    before = -step.mul(~later, axis=0)[::-1].cumsum()[::-1].shift(-1, fill_value=0.0)
    log_level = np.log(level) + after + before
    screened = np.exp(log_level - log_level.loc[base_year])
    cells = flagged.stack()
    rows = [(p, int(y), float(own.at[y, p] * 100), float(ref.at[y, p] * 100)) for y, p in cells[cells].index]
    flags = pd.DataFrame(rows, columns=["province", "year", "change", "reference_change"])
    return screened, flags.sort_values(["year", "province"], ignore_index=True)
