"""National estimates of the cost of environmental degradation (``data/raw``), for the model's environmental block.

The model's environmental output loss (``1 - Environmental Quality ^ Environmental Elasticity``) rests on
assumed constants; the only figures the project has to set it against are the official green-accounting
estimates of 2004 and 2008-2010 (caveats in ``data/raw/SOURCES.md``).
"""
from __future__ import annotations

import os

import pandas as pd

from .data import _rows, read_yearly, resolve_data_dir
from .errors import DataError

__all__ = ["ENVIRONMENTAL_COST_FILE", "load_environmental_cost"]

ENVIRONMENTAL_COST_FILE = "national_environmental_degradation_cost.csv"


def load_environmental_cost(data_dir: str | os.PathLike | None = None) -> pd.DataFrame:
    """The cost of environmental degradation, China, by year.

    Returns
    -------
    pandas.DataFrame
        Indexed by year (2004, 2008, 2009, 2010): ``cost_share`` (fraction of GDP, the stated
        percentage / 100), ``cost`` (billion yuan, current prices) and ``coverage`` (2004: pollution
        only; 2008-2010: ecological and environmental degradation).

    Raises
    ------
    DataError
        If the file is missing, a column is missing, a value is not a number, a percentage is
        outside [0, 100) or a year repeats (naming the file and line).
    """
    path = resolve_data_dir(data_dir) / ENVIRONMENTAL_COST_FILE
    df = read_yearly(path, {"cost_pct_gdp": "cost_share", "cost_100m_yuan": "cost"})  # numbers, unique years
    coverage = []
    for line, row in _rows(path, ("cost_pct_gdp", "coverage")):  # the same rows, in the same order
        if not 0 <= float(row["cost_pct_gdp"]) < 100:
            raise DataError(f"{path}, line {line}: cost_pct_gdp must be a percentage of GDP in [0, 100), "
                            f"got {row['cost_pct_gdp']!r}")
        coverage.append(row["coverage"])
    df["cost_share"] /= 100
    df["cost"] /= 10  # 100 million yuan -> billion yuan
    df["coverage"] = coverage
    df = df.sort_index()
    df.attrs.update(source=ENVIRONMENTAL_COST_FILE, units={"cost_share": "fraction of GDP", "cost": "billion yuan"})
    return df
