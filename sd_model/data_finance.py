"""National finance series: financing by instrument, benchmark rates, reserve ratio, bad loans.

Total social financing and its components, equity raised and bond issuance (NBS), PBoC
benchmark lending and deposit rates, the required reserve ratio and commercial-bank NPLs.
National only: no regional split was found (see ``data/raw/SOURCES.md``). Amounts in model
units (billion yuan = 亿元 / 10), rates in percent.
"""
from __future__ import annotations

import os

import numpy as np
import pandas as pd

from .data import _number, _rows, _year, read_yearly, resolve_data_dir
from .errors import DataError

FILE = "national_financing_nbs.csv"


def load_national_financing(data_dir: str | os.PathLike | None = None) -> pd.DataFrame:
    """National financing flows, indexed by year 2000-2015.

    Returns
    -------
    pandas.DataFrame
        One column per column of ``national_financing_nbs.csv`` without the ``_100m_yuan``
        suffix (e.g. ``tsf_total_flow``, ``tsf_rmb_loans``, ``tsf_corporate_bonds``,
        ``tsf_domestic_equity`` (2002-2015), ``equity_raised_total`` (2000-2015),
        ``enterprise_bonds_issued`` (2000-2012), ``treasury_bonds_issued``,
        ``stock_market_capitalisation``), in **billion yuan** (flows per year, except market
        capitalisation, a year-end stock). Blank cells are NaN.
    """
    path = resolve_data_dir(data_dir) / FILE
    if not path.is_file():
        raise DataError(f"{path}: data file not found")
    with path.open(encoding="utf-8-sig", errors="replace") as fh:
        header = [h.strip() for h in fh.readline().split(",")]
    columns = tuple(c for c in header if c.endswith("_100m_yuan"))
    if not columns:
        raise DataError(f"{path}, line 1: no column ending in '_100m_yuan'; header is {', '.join(header)}")
    df = read_yearly(path, {c: c.removesuffix("_100m_yuan") for c in columns}, blanks=True) / 10
    df.attrs.update(source=FILE, units="billion yuan (flows per year; market capitalisation year-end)")
    return df


RATES_FILE = "national_benchmark_lending_rates.csv"
_RATE_COLUMNS = ("lending_up_to_6m_pct", "lending_6m_to_1y_pct", "lending_1y_to_3y_pct", "lending_3y_to_5y_pct",
                 "lending_over_5y_pct")
# Years with a benchmark change missing from the file (data/raw/SOURCES.md); a day-weighted mean
# over such a year would be wrong, so it is NaN. None since the 2015 changes were found. The rates
# in force before 1991-04-21 are not known (1991 mean NaN).
MISSING_CHANGES_YEARS: tuple[int, ...] = ()


def _load_rate_table(path, columns: tuple[str, ...], prefix: str) -> pd.DataFrame:
    """Rows ``effective_date, <columns...>`` (percent) as a frame indexed by date, sorted."""
    records: list[list] = []
    seen: dict[pd.Timestamp, int] = {}
    for line, row in _rows(path, ("effective_date", *columns)):
        try:
            date = pd.Timestamp(row["effective_date"])
        except ValueError:
            raise DataError(f"{path}, line {line}: effective_date {row['effective_date']!r} is not a date "
                            "(YYYY-MM-DD)") from None
        if date in seen:
            raise DataError(f"{path}, line {line}: duplicate effective_date {date.date()}; first on line {seen[date]}")
        seen[date] = line
        values = [np.nan if row[c] == "" else _number(path, line, c, row[c]) for c in columns]
        if any(v < 0 or v > 50 for v in values if not np.isnan(v)):
            raise DataError(f"{path}, line {line}: a rate is outside 0-50 percent")
        records.append([date, *values])
    names = [c.removeprefix(prefix).removesuffix("_pct") for c in columns]
    df = pd.DataFrame(records, columns=["effective_date", *names]).set_index("effective_date").sort_index()
    df.attrs.update(source=path.name, units="percent per year")
    return df


def load_benchmark_lending_rates(data_dir: str | os.PathLike | None = None) -> pd.DataFrame:
    """PBoC benchmark lending rates by maturity, one row per change (1991-04-21 to 2015-10-24).

    Returns
    -------
    pandas.DataFrame
        Indexed by ``effective_date`` (Timestamp); columns ``up_to_6m``, ``6m_to_1y``,
        ``1y_to_3y``, ``3y_to_5y``, ``over_5y`` in **percent per year** (NaN where the source
        has no value: the up-to-6-month band after 2014, when the PBoC merged it into
        "1 year and below", stored in ``6m_to_1y``). Sources: ``data/raw/SOURCES.md``.
    """
    return _load_rate_table(resolve_data_dir(data_dir) / RATES_FILE, _RATE_COLUMNS, "lending_")


DEPOSIT_FILE = "national_benchmark_deposit_rates.csv"
_DEPOSIT_COLUMNS = ("deposit_demand_pct", "deposit_3m_pct", "deposit_6m_pct", "deposit_1y_pct", "deposit_2y_pct",
                    "deposit_3y_pct", "deposit_5y_pct")


def load_benchmark_deposit_rates(data_dir: str | os.PathLike | None = None) -> pd.DataFrame:
    """PBoC benchmark deposit rates, one row per change (1990-04-15 to 2015-10-24).

    Returns
    -------
    pandas.DataFrame
        Indexed by ``effective_date``; columns ``demand``, ``3m``, ``6m``, ``1y``, ``2y``,
        ``3y``, ``5y`` (time deposits) in **percent per year**. From 2008-10-30 only the
        one-year rate is in the sources (other columns NaN). Sources: ``data/raw/SOURCES.md``.
    """
    return _load_rate_table(resolve_data_dir(data_dir) / DEPOSIT_FILE, _DEPOSIT_COLUMNS, "deposit_")


def _annual(s: pd.Series, first_year: int, last_year: int = 2015) -> pd.DataFrame:
    years = range(first_year, last_year + 1)
    out = pd.DataFrame(index=pd.Index(years, name="year"), columns=["year_end", "mean"], dtype=float)
    days = pd.date_range(f"{first_year}-01-01", f"{last_year}-12-31", freq="D")
    daily = s.reindex(s.index.union(days)).ffill().reindex(days)
    for y in years:
        d = daily[str(y)]
        out.loc[y, "year_end"] = d.iloc[-1]
        if y not in MISSING_CHANGES_YEARS and d.notna().all():
            out.loc[y, "mean"] = d.mean()
    return out


def benchmark_deposit_rate_annual(data_dir: str | os.PathLike | None = None) -> pd.DataFrame:
    """One-year benchmark deposit rate by year, 1990-2015.

    Returns ``year_end`` and day-weighted ``mean`` (percent per year; 1990 mean NaN: the rate
    before 1990-04-15 is not in the data).
    """
    s = load_benchmark_deposit_rates(data_dir)["1y"].dropna()
    out = _annual(s, 1990)
    out.attrs.update(source=DEPOSIT_FILE, units="percent per year", band="1y")
    return out


def benchmark_lending_rate_annual(band: str = "6m_to_1y", data_dir: str | os.PathLike | None = None) -> pd.DataFrame:
    """Annual benchmark lending rate of one maturity band, 1991-2015.

    Parameters
    ----------
    band : str, optional
        A column of :func:`load_benchmark_lending_rates`. Default is ``"6m_to_1y"`` (the one-year
        benchmark).

    Returns
    -------
    pandas.DataFrame
        Indexed by year: ``year_end`` (rate in force on 31 December, percent per year) and
        ``mean`` (day-weighted mean over the year; NaN for the first year, whose rate before its
        first change is unknown, and for years in :data:`MISSING_CHANGES_YEARS`).
    """
    rates = load_benchmark_lending_rates(data_dir)
    if band not in rates.columns:
        raise DataError(f"benchmark_lending_rate_annual: unknown band {band!r}; valid: {', '.join(rates.columns)}")
    out = _annual(rates[band].dropna(), 1991)
    out.attrs.update(source=RATES_FILE, units="percent per year", band=band)
    return out


RRR_FILE = "national_reserve_requirement_ratio.csv"
RRR_LAST_KNOWN_YEAR_END = 2014  # the 2015 changes after 2015-02-05 are in no source found (SOURCES.md)


def load_reserve_requirement_ratio(data_dir: str | os.PathLike | None = None) -> pd.DataFrame:
    """PBoC statutory required reserve ratio, one row per change, 1985 to 2015-02-05 (partial).

    Returns
    -------
    pandas.DataFrame
        Columns ``effective_date`` (text as in the source: ``YYYY``, ``YYYY-MM`` or
        ``YYYY-MM-DD``), ``year`` (int), ``precision`` (``"year"``, ``"month"`` or ``"day"``),
        ``ratio`` (headline ratio; large institutions from 2008-09-25, percent of deposits) and
        ``ratio_small`` (small and medium institutions; NaN where the sources give none).
    """
    path = resolve_data_dir(data_dir) / RRR_FILE
    records = []
    for line, row in _rows(path, ("effective_date", "required_reserve_ratio_pct", "required_reserve_ratio_small_pct")):
        text = row["effective_date"]
        parts = text.split("-")
        if not (1 <= len(parts) <= 3 and all(p.isdigit() for p in parts)):
            raise DataError(f"{path}, line {line}: effective_date {text!r} is not YYYY, YYYY-MM or YYYY-MM-DD")
        year = _year(path, line, parts[0])
        ratios = [np.nan if row[c] == "" else _number(path, line, c, row[c])
                  for c in ("required_reserve_ratio_pct", "required_reserve_ratio_small_pct")]
        if np.isnan(ratios[0]) or any(not 0 <= r <= 100 for r in ratios if not np.isnan(r)):
            raise DataError(f"{path}, line {line}: required_reserve_ratio_pct must be given and every ratio "
                            "must be within 0-100 percent")
        records.append((text, year, ("year", "month", "day")[len(parts) - 1], *ratios))
    df = pd.DataFrame(records, columns=["effective_date", "year", "precision", "ratio", "ratio_small"])
    if not df["year"].is_monotonic_increasing:
        raise DataError(f"{path}: rows are not in date order")
    df.attrs.update(source=RRR_FILE, units="percent of deposits")
    return df


def reserve_requirement_ratio_year_end(data_dir: str | os.PathLike | None = None) -> pd.Series:
    """Headline required reserve ratio in force on 31 December, 1985-2014.

    Percent of deposits; large institutions from 2008. The last change of each year is the one
    in force at its end; years without a change keep the previous value. 2015 is not returned:
    its changes after 2015-02-05 are missing.
    """
    rrr = load_reserve_requirement_ratio(data_dir)
    last = rrr.groupby("year")["ratio"].last()
    years = range(int(rrr["year"].min()), RRR_LAST_KNOWN_YEAR_END + 1)
    s = last.reindex(years).ffill().rename("required_reserve_ratio")
    s.index.name = "year"
    s.attrs.update(source=RRR_FILE, units="percent of deposits")
    return s


NPL_FILE = "national_npl_commercial_banks.csv"


def load_national_npl(data_dir: str | os.PathLike | None = None) -> pd.DataFrame:
    """Non-performing loans of commercial banks at year-end (CBRC five-category classification).

    Returns
    -------
    pandas.DataFrame
        Indexed by year (2003-2015 with gaps: 2008, 2013 and 2014 not found): ``npl_ratio``
        (percent of loans), ``npl_balance`` (billion yuan; NaN where not given), ``universe``
        (2003: major commercial banks only) and ``derivation``. Large falls in 2005 and 2008 are
        transfers of bad loans out of state banks, not recoveries (``data/raw/SOURCES.md``).
    """
    path = resolve_data_dir(data_dir) / NPL_FILE
    records, seen = [], set()
    for line, row in _rows(path, ("year", "npl_ratio_pct", "npl_balance_100m_yuan", "universe", "derivation")):
        year = _year(path, line, row["year"])
        if year in seen:
            raise DataError(f"{path}, line {line}: duplicate year {year}")
        seen.add(year)
        ratio = _number(path, line, "npl_ratio_pct", row["npl_ratio_pct"])
        balance = np.nan if row["npl_balance_100m_yuan"] == "" else \
            _number(path, line, "npl_balance_100m_yuan", row["npl_balance_100m_yuan"]) / 10
        records.append((year, ratio, balance, row["universe"], row["derivation"]))
    df = pd.DataFrame(records, columns=["year", "npl_ratio", "npl_balance", "universe", "derivation"]).set_index("year")
    df.attrs.update(source=NPL_FILE, units={"npl_ratio": "percent of loans", "npl_balance": "billion yuan"})
    return df
