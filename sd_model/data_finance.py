"""National financing flows by instrument (NBS): total social financing and its components,
equity raised, bond issuance. National only: no regional split of bond and equity finance was
found (see ``data/raw/SOURCES.md``). Returned in model units (billion yuan = 亿元 / 10).
"""
from __future__ import annotations

import os

import numpy as np
import pandas as pd

from .data import _number, _rows, _year, resolve_data_dir
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
    records, seen = [], set()
    for line, row in _rows(path, ("year", *columns)):
        year = _year(path, line, row["year"])
        if year in seen:
            raise DataError(f"{path}, line {line}: duplicate year {year}")
        seen.add(year)
        records.append([year] + [np.nan if row[c] == "" else _number(path, line, c, row[c]) / 10 for c in columns])
    df = pd.DataFrame(records, columns=["year", *(c.removesuffix("_100m_yuan") for c in columns)]).set_index("year")
    df.attrs.update(source=FILE, units="billion yuan (flows per year; market capitalisation year-end)")
    return df
