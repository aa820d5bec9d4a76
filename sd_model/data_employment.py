"""Employment and structural change (Lewis turning point), and the US technology frontier.

- National employment by the three sectors (NBS, 万人), in two vintages: the China Statistical
  Yearbook 2025 table (1978-2015; 2011-2015 revised to the 2020 census) and the NBS database of
  about 2020 (2000-2015, with labour force, urban/rural employment and the rural-survey series).
- Rural employment by macro-region, 2000-2012: the NBS provincial rural-survey series 乡村从业人员
  and 农林牧渔业从业人员 (agriculture, forestry, animal husbandry and fishery), summed over the
  provinces of each region. **Employment by the three sectors by province was not found** in any
  public repository searched (see ``data/raw/SOURCES.md``); the rural agricultural series is the
  closest provincial proxy for primary-sector employment, not the same statistic.
- United States TFP from Penn World Table 10.01 (``rtfpna``), the frontier for a catch-up term.

Provenance, breaks and cross-checks are in ``data/raw/SOURCES.md``. Persons are returned in model
units (million persons = 万人 / 100); shares as fractions; growth rates as fractions per year.
"""
from __future__ import annotations

import os

import numpy as np
import pandas as pd
import xarray as xr

from .data import load_provincial, load_regions, read_yearly, resolve_data_dir
from .data_panel import REGIONS, regional_sum, wide

NATIONAL_FILES = {"csy2025": "national_employment_by_sector_csy2025.csv",
                  "nbs_db": "national_employment_nbs.csv"}
RURAL_FILE = "provincial_rural_employment.csv"
PWT_USA_FILE = "national_pwt1001_usa.csv"

#: CSV column (万人) -> name in the returned frame (million persons).
_SECTORS = {"employment_10k_persons": "employment",
            "primary_employment_10k_persons": "primary",
            "secondary_employment_10k_persons": "secondary",
            "tertiary_employment_10k_persons": "tertiary"}
_NBS_EXTRA = {"labour_force_10k_persons": "labour_force",
              "urban_employment_10k_persons": "urban",
              "rural_employment_10k_persons": "rural",
              "rural_employed_rural_survey_10k_persons": "rural_survey",
              "rural_agriculture_employed_10k_persons": "rural_agriculture"}
_PWT_USA = {"rtfpna": "rtfpna", "ctfp": "ctfp", "rgdpna_mil_2017usd": "rgdpna",
            "rnna_mil_2017usd": "rnna", "emp_millions": "emp", "labsh": "labsh"}

YEARS_RURAL = np.arange(2000, 2016)


def load_national_employment(vintage: str = "csy2025",
                             data_dir: str | os.PathLike | None = None) -> pd.DataFrame:
    """National employment by the three sectors, indexed by year, in million persons (year end).

    Parameters
    ----------
    vintage : {"csy2025", "nbs_db"}
        ``"csy2025"``: China Statistical Yearbook 2025, table 4-2, 1978-2015 (2011-2015 revised to
        the 2020 census; the 1990 jump of about 9,400 万人 is the re-basing to the 1990 census).
        ``"nbs_db"``: the NBS database as exported about 2020, 2000-2015 (2011-2015 not yet revised),
        with the extra columns ``labour_force``, ``urban``, ``rural`` (labour statistics, by place of
        residence), ``rural_survey`` (乡村从业人员, rural survey, by rural registration) and
        ``rural_agriculture`` (农林牧渔业从业人员 of the rural survey; NaN after 2012).
    data_dir : path-like, optional
        Folder of the raw files (default: see :func:`sd_model.data.resolve_data_dir`).

    Returns
    -------
    pandas.DataFrame
        ``employment``, ``primary``, ``secondary``, ``tertiary`` (million persons) and
        ``primary_share`` = primary / employment (fraction); ``attrs`` holds ``source``,
        ``vintage`` and ``units``.
    """
    if vintage not in NATIONAL_FILES:
        raise ValueError(f"load_national_employment: unknown vintage {vintage!r}; "
                         f"valid vintages are {', '.join(NATIONAL_FILES)}")
    fname = NATIONAL_FILES[vintage]
    columns = dict(_SECTORS) if vintage == "csy2025" else {**_SECTORS, **_NBS_EXTRA}
    df = read_yearly(resolve_data_dir(data_dir) / fname, columns, blanks=vintage == "nbs_db") / 100.0
    df["primary_share"] = df["primary"] / df["employment"]
    df.attrs.update(source=fname, vintage=vintage,
                    units={c: "million persons" for c in columns.values()} | {"primary_share": "1 (fraction)"})
    return df


def load_regional_rural_employment(data_dir: str | os.PathLike | None = None) -> xr.Dataset:
    """Rural employment by (year, region), sums of provinces, 2000-2015 (values 2000-2012).

    A region-year is NaN unless every province of the region has a value (never a partial sum);
    the source has all 31 provinces in 2000-2012 and none after, so 2013-2015 are NaN.

    Returns
    -------
    xarray.Dataset
        - ``rural_employed`` (year, region): 乡村从业人员, employed persons of the rural survey
          (registered rural population, including rural migrants working in towns), million persons.
        - ``rural_agriculture_employed`` (year, region): of which in agriculture, forestry, animal
          husbandry and fishery (农林牧渔业从业人员), million persons. A proxy for primary-sector
          employment: nationally 0.86-1.05 times NBS primary employment in 2000-2012.
        - ``agriculture_share_of_rural`` (year, region): the ratio of the two (fraction), the share
          of the rural workforce still in farming.
    """
    folder = resolve_data_dir(data_dir)
    regions = load_regions(folder)
    rural = regional_sum(wide(load_provincial("rural_employed", folder), YEARS_RURAL), regions)
    agri = regional_sum(wide(load_provincial("rural_agriculture_employed", folder), YEARS_RURAL), regions)
    note = ("Sum of the region's provinces (NBS provincial annual data, rural survey); NaN unless all "
            "provinces are present. Beijing's rural employed jump +72% in 2006 (definition).")
    ds = xr.Dataset(
        {"rural_employed": (("year", "region"), rural,
                            {"units": "million persons", "source": RURAL_FILE, "note": note}),
         "rural_agriculture_employed": (("year", "region"), agri,
                                        {"units": "million persons", "source": RURAL_FILE, "note": note}),
         "agriculture_share_of_rural": (("year", "region"), agri / rural,
                                        {"units": "1 (fraction)", "source": RURAL_FILE,
                                         "note": "DERIVED: rural_agriculture_employed / rural_employed."})},
        coords={"year": YEARS_RURAL, "region": list(REGIONS)})
    ds.attrs.update(provenance="see SOURCES.md in the data folder")
    return ds


def load_pwt_usa(data_dir: str | os.PathLike | None = None) -> pd.DataFrame:
    """United States rows of PWT 10.01, 1978-2015, indexed by year.

    Columns: ``rtfpna`` (TFP at constant national prices, 2017 = 1), ``ctfp`` (TFP level at
    current PPPs relative to the USA: 1 by construction), ``rgdpna`` and ``rnna`` (real GDP and
    capital stock at constant 2017 national prices, million 2017 US$), ``emp`` (persons engaged,
    millions), ``labsh`` (labour share of GDP, fraction).
    """
    df = read_yearly(resolve_data_dir(data_dir) / PWT_USA_FILE, _PWT_USA)
    df.attrs.update(source=PWT_USA_FILE, units={"rtfpna": "index, 2017 = 1", "ctfp": "1 (USA = 1)",
                                                "rgdpna": "million 2017 US$", "rnna": "million 2017 US$",
                                                "emp": "million persons", "labsh": "1 (fraction)"})
    return df


def us_tfp_growth(data_dir: str | os.PathLike | None = None) -> pd.Series:
    """Annual growth of US TFP, ``rtfpna[t] / rtfpna[t-1] - 1`` (fraction per year), 1979-2015.

    The first year (1978) has no predecessor in the file and is left out. Values rest on
    three-decimal indices, so single years are precise to about 0.1 percentage point.
    """
    tfp = load_pwt_usa(data_dir)["rtfpna"]
    previous = tfp.reindex(tfp.index - 1).to_numpy()  # NaN where the year before is not in the file
    growth = pd.Series(tfp.to_numpy() / previous - 1.0, index=tfp.index, name="us_tfp_growth").dropna()
    growth.attrs.update(units="1/year (fraction)", source=PWT_USA_FILE)
    return growth
