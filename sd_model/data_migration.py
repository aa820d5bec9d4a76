"""Inter-provincial migration in the 2000 and 2010 censuses, aggregated to the four macro-regions.

The raw file (``interprovincial_migration_census_2000_2010.csv``) is a 31 x 31 origin ->
destination table per census, transcribed by a third party from NBS census pages; which census
table it is, is not stated (it looks like lifetime migration by province of birth, in long-form
sample counts). **Use shares, not levels**: every variable here except the raw flows is a ratio.
"""
from __future__ import annotations

import os

import numpy as np
import pandas as pd
import xarray as xr

from .data import _number, _rows, _year, load_regions, resolve_data_dir
from .data_panel import REGIONS
from .errors import DataError, close_matches

FILE = "interprovincial_migration_census_2000_2010.csv"
_COLS = ("census_year", "origin_province", "destination_province", "persons_census_table_value")


def load_census_migration_provincial(data_dir: str | os.PathLike | None = None) -> pd.DataFrame:
    """The census origin -> destination table as a tidy frame.

    Returns
    -------
    pandas.DataFrame
        Columns ``census_year``, ``origin``, ``destination`` (provinces), ``origin_region``,
        ``destination_region`` and ``persons`` (persons in the census table, a sample count).

    Raises
    ------
    sd_model.errors.DataError
        Missing file or column, unknown province, non-numeric or negative value, a flow from a
        province to itself, or a duplicate (census_year, origin, destination).
    """
    folder = resolve_data_dir(data_dir)
    regions = load_regions(folder)
    path = folder / FILE
    seen: dict[tuple, int] = {}
    records = []
    for line, row in _rows(path, _COLS):
        provs = []
        for col in ("origin_province", "destination_province"):
            if row[col] not in regions:
                hint = close_matches(row[col], regions)
                tail = f"; did you mean {hint[0]!r}?" if hint else "; provinces are listed in regions.csv"
                raise DataError(f"{path}, line {line}: unknown {col} {row[col]!r}{tail}")
            provs.append(row[col])
        year = _year(path, line, row["census_year"])
        value = _number(path, line, _COLS[3], row[_COLS[3]])
        if value < 0:
            raise DataError(f"{path}, line {line}: negative flow {value:g} (persons must be >= 0)")
        if provs[0] == provs[1]:
            raise DataError(f"{path}, line {line}: flow from {provs[0]!r} to itself (the table has no diagonal)")
        key = (year, *provs)
        if key in seen:
            raise DataError(f"{path}, line {line}: duplicate flow {key}; first given on line {seen[key]}")
        seen[key] = line
        records.append((year, provs[0], provs[1], regions[provs[0]], regions[provs[1]], value))
    if not records:
        raise DataError(f"{path}: no data rows (only a header)")
    df = pd.DataFrame(records, columns=["census_year", "origin", "destination", "origin_region",
                                        "destination_region", "persons"])
    df.attrs.update(units="persons in the census table (sample count)", source=FILE)
    return df


def load_census_migration(data_dir: str | os.PathLike | None = None) -> xr.Dataset:
    """Census migration by macro-region, dims ``census_year`` (2000, 2010) and region.

    Returns
    -------
    xarray.Dataset
        - ``flow`` (census_year, origin, destination): persons in the census table summed over
          the provinces of each region; the diagonal holds moves between provinces of the same
          region. A sample count: compare, do not use as a level.
        - ``in_share``, ``out_share`` (census_year, region): the region's share of all
          **inter-regional** migrants by destination and by origin (fractions; each sums to 1).
        - ``net_share`` (census_year, region): (inter-regional in - out) / all inter-regional
          migrants, a fraction; sums to 0 over regions.
        - ``destination_share`` (census_year, origin, destination): where each region's
          inter-regional out-migrants live (rows sum to 1; diagonal 0).
        - ``interprovincial_in_share``, ``interprovincial_out_share`` (census_year, region):
          share of all inter-provincial migrants (same-region moves included) by destination and
          by origin.
    """
    df = load_census_migration_provincial(data_dir)
    years = sorted(df["census_year"].unique())
    flow = np.zeros((len(years), len(REGIONS), len(REGIONS)))
    grouped = df.groupby(["census_year", "origin_region", "destination_region"])["persons"].sum()
    for (y, o, d), v in grouped.items():
        flow[years.index(y), REGIONS.index(o), REGIONS.index(d)] = v
    off = flow.copy()
    off[:, range(4), range(4)] = 0.0
    total_off = off.sum(axis=(1, 2))[:, None]
    inflow, outflow = off.sum(axis=1), off.sum(axis=2)
    total = flow.sum(axis=(1, 2))[:, None]
    frac = "1 (fraction)"
    src = {"source": FILE}
    ds = xr.Dataset(
        {
            "flow": (("census_year", "origin", "destination"), flow,
                     {"units": "persons in the census table (sample count)", **src,
                      "note": "Sum of provincial origin -> destination flows; diagonal = moves between "
                              "provinces of the same region. Census table not stated (probably "
                              "lifetime migration by province of birth); use shares, not levels."}),
            "in_share": (("census_year", "region"), inflow / total_off,
                         {"units": frac, **src, "note": "Inter-regional migrants living in the region / all "
                                                         "inter-regional migrants."}),
            "out_share": (("census_year", "region"), outflow / total_off,
                          {"units": frac, **src, "note": "Inter-regional migrants from the region / all "
                                                          "inter-regional migrants."}),
            "net_share": (("census_year", "region"), (inflow - outflow) / total_off,
                          {"units": frac, **src, "note": "(in - out) / all inter-regional migrants."}),
            "destination_share": (("census_year", "origin", "destination"), off / outflow[:, :, None],
                                  {"units": frac, **src, "note": "Row-normalised inter-regional flows."}),
            "interprovincial_in_share": (("census_year", "region"), flow.sum(axis=1) / total,
                                         {"units": frac, **src,
                                          "note": "Inter-provincial migrants living in the region / all."}),
            "interprovincial_out_share": (("census_year", "region"), flow.sum(axis=2) / total,
                                          {"units": frac, **src,
                                           "note": "Inter-provincial migrants from the region / all."}),
        },
        coords={"census_year": years, "region": list(REGIONS), "origin": list(REGIONS),
                "destination": list(REGIONS)},
    )
    ds.attrs.update(provenance="see SOURCES.md in the data folder")
    return ds
