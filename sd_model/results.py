"""Results as files: the tidy long table (variable, time, Region, Dest, value) and its formats."""
from __future__ import annotations

import io
import math
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from .files import atomic_write_bytes, atomic_write_netcdf, atomic_write_text, load_netcdf

__all__ = ["FORMATS", "tidy", "write_results", "read_results", "max_relative_difference"]

FORMATS = ("csv", "parquet", "netcdf")
_SUFFIX = {"csv": ".csv", "parquet": ".parquet", "netcdf": ".nc"}


def tidy(ds: xr.Dataset) -> pd.DataFrame:
    """Long table of a results Dataset: columns [member,] variable, time, Region, Dest, value, units.

    Region and Dest are empty strings for variables without those dimensions; ``member``
    appears for ensembles; ``units`` are the variable's units as the model declares them
    (``attrs["units"]``). Variables without a time dimension (an ensemble's ``failed`` and
    ``message``) are left out. A constant (``attrs["kind"] == "constant"``, as the engines mark
    them) is written once, at the first saved time, instead of at every saved year.
    """
    lead = ["member"] if "member" in ds.dims else []
    columns: dict[str, list[np.ndarray]] = {c: [] for c in [*lead, "variable", "time", "Region", "Dest", "value",
                                                            "units"]}
    for name, da in ds.data_vars.items():
        if "time" not in da.dims:
            continue
        if da.attrs.get("kind") == "constant":
            da = da.isel(time=slice(0, 1))
        n = da.size
        for col in columns:  # one row per cell, the dims in the variable's order (C order)
            if col in da.dims:
                i = da.dims.index(col)
                columns[col].append(np.tile(np.repeat(da[col].values, math.prod(da.shape[i + 1:])),
                                            math.prod(da.shape[:i])))
            elif col in ("Region", "Dest"):
                columns[col].append(np.full(n, "", dtype=object))
        columns["variable"].append(np.full(n, name, dtype=object))
        columns["units"].append(np.full(n, str(da.attrs.get("units", "")), dtype=object))
        columns["value"].append(da.values.reshape(-1))
    out = pd.DataFrame({c: np.concatenate(v) for c, v in columns.items()})
    for col in ("Region", "Dest"):
        out[col] = out[col].astype(str)
    return out


def write_results(ds: xr.Dataset, folder: str | Path, fmt: str = "csv", stem: str = "results") -> Path:
    """Write a results Dataset into ``folder`` as csv, parquet (tidy long form) or netcdf.

    Returns the path written. The file is written atomically.
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; valid: {', '.join(FORMATS)}")
    path = Path(folder) / f"{stem}{_SUFFIX[fmt]}"
    if fmt == "netcdf":
        return atomic_write_netcdf(path, ds)
    table = tidy(ds)
    if fmt == "csv":
        return atomic_write_text(path, table.to_csv(index=False))
    buf = io.BytesIO()
    table.to_parquet(buf, index=False)
    return atomic_write_bytes(path, buf.getvalue())


def read_results(folder: str | Path) -> pd.DataFrame:
    """The tidy table of a results folder (results.csv, .parquet or .nc, whichever exists)."""
    folder = Path(folder)
    path = next((p for p in (folder / f"results{s}" for s in (".csv", ".parquet", ".nc")) if p.is_file()), None)
    if path is None:
        raise FileNotFoundError(f"{folder}: no results.csv, results.parquet or results.nc")
    if path.suffix == ".csv":
        return pd.read_csv(path, keep_default_na=False, dtype={"Region": str, "Dest": str, "units": str})
    if path.suffix == ".parquet":
        return pd.read_parquet(path)
    return tidy(load_netcdf(path))


def max_relative_difference(a: pd.DataFrame, b: pd.DataFrame) -> tuple[float, int]:
    """Largest |a-b| / max(|a|, |b|, 1e-12) over the values two tidy tables share, and their count."""
    keys = ["variable", "time", "Region", "Dest"]
    both = a.merge(b, on=keys, suffixes=("_a", "_b"))
    x, y = both["value_a"].to_numpy(dtype=float), both["value_b"].to_numpy(dtype=float)
    if not len(both):
        return float("nan"), 0
    scale = np.maximum(np.maximum(np.abs(x), np.abs(y)), 1e-12)
    return float(np.max(np.abs(x - y) / scale)), len(both)
