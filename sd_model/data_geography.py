"""Where the provinces are: capital coordinates and land areas, and the regions' market distances built from them.

``provincial_geography.csv`` (sources and caveats in ``data/raw/SOURCES.md``) gives each province's capital
(latitude, longitude) and land area. :func:`market_distance` turns them into the effective distance between two
macro-regions, the one a region's market potential uses (``Market Distance[Region, Dest]`` in the model):

- between two provinces, the great-circle distance between their capitals;
- within a province, its internal distance ``(2/3) * sqrt(area / pi)``, the mean distance between a point of a
  disc of that area and its centre (Head and Mayer 2000, Weltwirtschaftliches Archiv 136(2); Redding and
  Venables 2004, J. International Economics 62(1));
- between regions ``i`` and ``j``, the harmonic mean of the province-pair distances weighted by each province's
  share of its region's nominal GDP in ``year``: with a distance decay of 1 (Harris 1954), ``s_j / D_ij`` is then
  exactly the GDP-weighted mean over the provinces of ``i`` of the market potential they draw from ``j``'s
  provinces at ``j``'s share ``s_j`` (the "effective distance" of Head and Mayer 2002, CEPII WP 2002-01, for an
  elasticity of -1). A region split into provinces would use the province distances themselves.
"""
from __future__ import annotations

import math
import os

import pandas as pd

from .data import REGIONS, _number, _rows, load_provincial, load_regions, resolve_data_dir
from .errors import DataError

__all__ = ["GEOGRAPHY_FILE", "EARTH_RADIUS_MM", "load_geography", "great_circle_mm", "internal_distance_mm",
           "market_distance"]

GEOGRAPHY_FILE = "provincial_geography.csv"
#: Mean Earth radius, thousand km (Mm).
EARTH_RADIUS_MM = 6.371


def load_geography(data_dir: str | os.PathLike | None = None) -> pd.DataFrame:
    """Capital coordinates and land area by province.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``province``: ``capital``, ``latitude`` and ``longitude`` (decimal degrees), ``area_km2``.

    Raises
    ------
    DataError
        A missing column, a cell that is not a number, a latitude outside [-90, 90] or longitude outside
        [-180, 180], an area that is not positive, or a province given twice (the message names file and line).
    """
    path = resolve_data_dir(data_dir) / GEOGRAPHY_FILE
    records: dict[str, dict[str, object]] = {}
    for line, row in _rows(path, ("province", "capital", "latitude", "longitude", "area_km2")):
        if row["province"] in records:
            raise DataError(f"{path}, line {line}: province {row['province']!r} is given twice")
        lat, lon, area = (_number(path, line, c, row[c]) for c in ("latitude", "longitude", "area_km2"))
        if not -90 <= lat <= 90 or not -180 <= lon <= 180:
            raise DataError(f"{path}, line {line}: coordinates ({lat}, {lon}) are outside [-90, 90] x [-180, 180]")
        if area <= 0:
            raise DataError(f"{path}, line {line}: area_km2 {area} is not positive")
        records[row["province"]] = {"capital": row["capital"], "latitude": lat, "longitude": lon, "area_km2": area}
    df = pd.DataFrame.from_dict(records, orient="index")
    df.index.name = "province"
    df.attrs["units"] = {"latitude": "degree", "longitude": "degree", "area_km2": "km2"}
    return df


def great_circle_mm(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in thousand km between two points given in decimal degrees (haversine)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_MM * math.asin(math.sqrt(h))


def internal_distance_mm(area_km2: float) -> float:
    """Internal distance of a province of ``area_km2``, thousand km: ``(2/3) sqrt(area / pi)``."""
    return (2 / 3) * math.sqrt(area_km2 / math.pi) / 1000


def market_distance(year: int = 1978, data_dir: str | os.PathLike | None = None) -> dict[str, dict[str, float]]:
    """Effective distance between the macro-regions, thousand km (rules: module doc).

    Parameters
    ----------
    year : int
        Year of the nominal GDP that weights the provinces within their region (default 1978, the model's
        first year, so that no later data enter the model's geography).
    data_dir : path-like, optional
        Folder of the raw files (default: see :func:`sd_model.data.resolve_data_dir`).

    Returns
    -------
    dict
        ``{region: {dest: Mm}}`` for the four regions in model order; symmetric.

    Raises
    ------
    DataError
        A province of ``regions.csv`` without geography or without GDP in ``year``.
    """
    geo = load_geography(data_dir)
    regions = load_regions(data_dir)
    gdp = load_provincial("gdp_nominal", data_dir)
    gdp = gdp[gdp["year"] == year].set_index("province")["value"]
    missing = sorted(set(regions) - set(geo.index))
    if missing:
        raise DataError(f"{resolve_data_dir(data_dir) / GEOGRAPHY_FILE}: no row for {', '.join(missing)}")
    missing = sorted(set(regions) - set(gdp.index))
    if missing:
        raise DataError(f"provincial_gdp_nominal.csv: no {year} value for {', '.join(missing)}")
    weight = {p: float(gdp[p]) / sum(float(gdp[q]) for q in regions if regions[q] == regions[p]) for p in regions}

    def distance(p: str, q: str) -> float:
        if p == q:
            return internal_distance_mm(float(geo.at[p, "area_km2"]))
        a, b = geo.loc[p], geo.loc[q]
        return great_circle_mm(float(a["latitude"]), float(a["longitude"]), float(b["latitude"]),
                               float(b["longitude"]))

    out: dict[str, dict[str, float]] = {}
    for i in REGIONS:
        out[i] = {}
        for j in REGIONS:
            inverse = sum(weight[p] * weight[q] / distance(p, q)
                          for p in regions if regions[p] == i for q in regions if regions[q] == j)
            out[i][j] = 1 / inverse
    return out
