"""Historical data of China's four macro-regions: loading, validation, regional series.

The raw files live in ``data/raw`` of the repository (override with the environment
variable ``SD_MODEL_DATA`` or the ``data_dir`` argument); their provenance, units and
definitional breaks are documented in ``data/raw/SOURCES.md``. Raw files use 亿元
(100 million yuan) and 万人 (10 thousand persons); everything returned here is in model
units: **billion yuan** (亿元 / 10) and **million persons** (万人 / 100).
"""
from __future__ import annotations

import csv
import math
import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from .data_panel import REGIONS, chain_chongqing, level_from_index, screen_price_level
from .data_panel import regional_sum as _regional_sum
from .data_panel import wide as _wide
from .data_series import NATIONAL, SERIES
from .errors import DataError, check_number, did_you_mean, unknown_name
from .resources import RAW_DATA_DIR

__all__ = ["REGIONS", "SERIES", "PRE2000_DEFLATOR", "load_regions", "load_provincial", "load_national",
           "load_observations", "initial_values", "resolve_data_dir", "pre2000_price_level"]

YEAR_MIN, YEAR_MAX = 1949, 2100
_PROV_COLS = ("province", "year")

# Price index used to deflate 1978-1999 provincial nominal GDP (no provincial real-GDP index
# exists before 2000). Chosen by the deflator test, sd_model.data_deflator.deflator_test():
# over 2001-2015, nominal GDP growth deflated by the investment price index reproduces the NBS
# real growth index with a pooled provincial RMSE of 2.99 points a year, against 3.43 with the
# retail price index; and in 1979-1999, against the national GDP deflator, it keeps the price level
# (cumulative error +0.7% against +8.7%; data_deflator.national_pre2000_check). Since the twelfth round
# (session 28) the investment price index is used screened: nine province-years whose change is more than
# PRICE_SCREEN_GAP log points from the retail change (level shifts no price index has) take the retail change,
# which brings the 1979-1999 national RMSE from 3.43 to 3.07 points. Details in data/raw/SOURCES.md, "Deflator
# test" to "Fourth test"; tests/test_data_deflator.py checks the choice.
PRE2000_DEFLATOR = "investment_price_index_screened"
#: Price levels :func:`pre2000_price_level` builds.
PRE2000_DEFLATORS = ("investment_price_index", "retail_price_index", "investment_price_index_screened")
#: Log points by which a province's yearly investment price change may differ from its retail price change before
#: the screened index takes the retail change (three standard deviations of that gap over 1979-1999, 8.4 points;
#: over 2001-2015 it never exceeds 7): data/raw/SOURCES.md, "Fourth test".
PRICE_SCREEN_GAP = 25.0


def resolve_data_dir(data_dir: str | os.PathLike | None = None) -> Path:
    """Folder of the raw data: ``data_dir`` if given, else ``$SD_MODEL_DATA``, else the shipped ``data/raw``."""
    if data_dir is not None:
        return Path(data_dir)
    return Path(os.environ.get("SD_MODEL_DATA") or RAW_DATA_DIR)


# --------------------------------------------------------------------------- parsing
def _rows(path: Path, columns: tuple[str, ...]):
    """Yield ``(line, {column: text})`` for each data row; the header is line 1.

    The file must be UTF-8 text (a byte-order mark is allowed); anything else, and CSV the
    ``csv`` module cannot parse, raises :class:`DataError` naming the file.
    """
    if not path.is_file():
        raise DataError(f"{path}: data file not found")
    line = 1
    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            reader = csv.reader(fh)
            header = next(reader, None)
            if header is None:
                raise DataError(f"{path}, line 1: file is empty (expected a header row)")
            header = [h.strip() for h in header]
            missing = [c for c in columns if c not in header]
            if missing:
                raise DataError(f"{path}, line 1: missing column(s) {', '.join(map(repr, missing))}; "
                                f"header is {', '.join(map(repr, header))}")
            idx = {c: header.index(c) for c in columns}
            for row in reader:
                line = reader.line_num
                if not row or not any(cell.strip() for cell in row):
                    continue
                if len(row) < len(header):
                    raise DataError(f"{path}, line {line}: {len(row)} fields, expected {len(header)}")
                yield line, {c: row[i].strip() for c, i in idx.items()}
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: not UTF-8 text (byte {exc.start} of the file: {exc.reason})") from None
    except csv.Error as exc:
        raise DataError(f"{path}, after line {line}: malformed CSV ({exc})") from None


def _year(path: Path, line: int, text: str) -> int:
    try:
        year = int(text)
    except ValueError:
        raise DataError(f"{path}, line {line}: year {text!r} is not an integer") from None
    if not YEAR_MIN <= year <= YEAR_MAX:
        raise DataError(f"{path}, line {line}: year {year} is outside {YEAR_MIN}-{YEAR_MAX}")
    return year


def _number(path: Path, line: int, column: str, text: str) -> float:
    """The number in a CSV cell (see :func:`~sd_model.errors.check_number`)."""
    return check_number(text, f"column {column!r}", f"{path}, line {line}", DataError, text=True)


def read_yearly(path: Path, columns: Mapping[str, str], blanks: bool = False) -> pd.DataFrame:
    """A CSV table with one row a year, indexed by ``year``; ``columns`` maps each CSV column to its name.

    A blank cell is NaN if ``blanks``, else an error; so are a year given twice and a cell that
    is not a finite number (:class:`DataError` naming the file and the line). Values are as written.
    """
    seen: dict[int, int] = {}
    records = []
    for line, row in _rows(path, ("year", *columns)):
        year = _year(path, line, row["year"])
        if year in seen:
            raise DataError(f"{path}, line {line}: duplicate year {year}; first given on line {seen[year]}")
        seen[year] = line
        records.append([year] + [np.nan if blanks and row[c] == "" else _number(path, line, c, row[c])
                                 for c in columns])
    return pd.DataFrame(records, columns=["year", *columns.values()]).set_index("year")


def load_regions(data_dir: str | os.PathLike | None = None) -> dict[str, str]:
    """Province -> macro-region mapping from ``regions.csv`` (NBS four-region definition)."""
    path = resolve_data_dir(data_dir) / "regions.csv"
    mapping: dict[str, str] = {}
    for line, row in _rows(path, ("province", "region")):
        if row["region"] not in REGIONS:
            tail = did_you_mean(row["region"], REGIONS, f"valid regions are {', '.join(REGIONS)}", n=1)
            raise DataError(f"{path}, line {line}: unknown region {row['region']!r}{tail}")
        if row["province"] in mapping:
            raise DataError(f"{path}, line {line}: duplicate province {row['province']!r}")
        mapping[row["province"]] = row["region"]
    return mapping


def load_provincial(name: str, data_dir: str | os.PathLike | None = None) -> pd.DataFrame:
    """Load one provincial series as a tidy table.

    Parameters
    ----------
    name : str
        Series name, a key of :data:`SERIES` (e.g. ``"gdp_nominal"``, ``"population"``,
        ``"capital_stock_1952prices"``, ``"loans_fi"``).
    data_dir : path-like, optional
        Folder of the raw files (default: see :func:`resolve_data_dir`).

    Returns
    -------
    pandas.DataFrame
        Columns ``province``, ``region``, ``year`` (int) and ``value`` (float) in model units:
        amounts in **billion yuan** (亿元 / 10), persons in **million** (万人 / 100); indices and
        percentages unchanged. ``df.attrs`` holds ``units``, ``source`` (file name) and ``name``.

    Raises
    ------
    sd_model.errors.UnknownNameError
        ``name`` is not a known series (close matches are suggested).
    sd_model.errors.DataError
        Missing file or column, non-numeric/NaN value, unknown province, year outside
        1949-2100, or duplicate (province, year); the message names the file and the line.
    """
    if name not in SERIES:
        raise unknown_name("data series", name, SERIES, where="load_provincial")
    fname, column, factor, units = SERIES[name]
    folder = resolve_data_dir(data_dir)
    regions = load_regions(folder)
    path = folder / fname
    seen: dict[tuple[str, int], int] = {}
    records = []
    for line, row in _rows(path, (*_PROV_COLS, column)):
        prov = row["province"]
        if prov not in regions:
            tail = did_you_mean(prov, regions, "provinces are listed in regions.csv")
            raise DataError(f"{path}, line {line}: unknown province {prov!r}{tail}")
        year = _year(path, line, row["year"])
        value = _number(path, line, column, row[column])
        if (prov, year) in seen:
            raise DataError(f"{path}, line {line}: duplicate (province, year) ({prov!r}, {year}); "
                            f"first given on line {seen[prov, year]}")
        seen[prov, year] = line
        records.append((prov, regions[prov], year, value * factor))
    if not records:
        raise DataError(f"{path}: no data rows (only a header)")
    df = pd.DataFrame(records, columns=["province", "region", "year", "value"])
    df["year"] = df["year"].astype(int)
    df.attrs.update(name=name, units=units, source=fname)
    return df


def load_national(data_dir: str | os.PathLike | None = None) -> pd.DataFrame:
    """National NBS series of ``national_nbs.csv`` in model units, indexed by ``year``.

    Columns: ``gdp_nominal`` (billion yuan/year, current prices), ``population`` and
    ``urban_population`` (million persons, year-end), ``loans`` and ``deposits`` (RMB loans and
    deposits of financial institutions, billion yuan, year-end), ``gfcf_nominal`` (billion
    yuan/year, expenditure approach). ``df.attrs["units"]`` maps column -> units.
    """
    path = resolve_data_dir(data_dir) / "national_nbs.csv"
    df = read_yearly(path, {c: n for c, (n, _, _) in NATIONAL.items()}) * np.array([f for _, f, _ in NATIONAL.values()])
    df.attrs.update(units={n: u for n, _, u in NATIONAL.values()}, source="national_nbs.csv")
    return df


# --------------------------------------------------------------------------- regional series
_CORE = ["gdp_nominal", "gdp_nominal_compendium_vintage", "gdp_real_2000prices", "population",
         "urban_population", "gfcf_nominal", "capital_stock_1952prices", "investment_price_index",
         "retail_price_index", "loans_fi", "deposits_fi", "household_savings_deposits",
         "fiscal_revenue", "fiscal_expenditure", "fai_growth", "primary_va", "secondary_va", "industry_va",
         "soe_industry_assets",
         "soe_industry_profit", "above_scale_industry_assets", "above_scale_industry_profit", "average_wage"]


def pre2000_price_level(name: str, tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Year x province price level with 2000 = 1 from the investment or the retail price index.

    Parameters
    ----------
    name : {"investment_price_index", "retail_price_index", "investment_price_index_screened"}
        Which provincial price index. The screened one is the investment price index whose yearly
        change, where it differs from the retail index's by more than :data:`PRICE_SCREEN_GAP` log
        points, is the retail index's (:func:`sd_model.data_panel.screen_price_level`).
    tables : dict
        Year x province tables (:func:`sd_model.data_panel.wide`) containing ``name`` (both
        indices for the screened one).

    Returns
    -------
    pandas.DataFrame
        Price level, 2000 = 1 (dimensionless); Chongqing before it is listed is chained to Sichuan.
    """
    if name == "investment_price_index":
        price = chain_chongqing(tables[name], 1996)
        return price / price.loc[2000]
    if name == "retail_price_index":
        return chain_chongqing(level_from_index(tables[name], 2000), 1996)
    if name == "investment_price_index_screened":
        return screen_price_level(pre2000_price_level("investment_price_index", tables),
                                  pre2000_price_level("retail_price_index", tables), PRICE_SCREEN_GAP)[0]
    raise unknown_name("pre-2000 deflator", name, PRE2000_DEFLATORS, where="pre2000_price_level")


def load_observations(data_dir: str | os.PathLike | None = None, deflator: str = PRE2000_DEFLATOR) -> xr.Dataset:
    """Regional historical series, dims ``(year, region)``, region order :data:`REGIONS`.

    ``deflator`` (one of :data:`PRE2000_DEFLATORS`) is the price level that turns 1978-1999
    nominal GDP into ``gdp_real_2000``; it is recorded in ``attrs["pre2000_deflator"]``.

    Regional values are sums of provinces, taken only where every province of the region is
    present (else NaN); for the West, Chongqing may be missing before 1996 for GFCF and capital
    (Sichuan includes it). Variables (each with attrs ``units``, ``source``, ``note``):

    - ``gdp_nominal``: billion yuan/year, current prices (vintage break in 2000)
    - ``gdp_real_2000``: billion yuan/year, 2000 prices (before 2000: nominal GDP deflated by
      the provincial price index ``deflator``)
    - ``population``, ``urban_population``: million persons (year-end)
    - ``capital_2000``: billion yuan, 2000 prices
    - ``gfcf_nominal``: billion yuan/year, current prices
    - ``loans``, ``deposits``: billion yuan, RMB of financial institutions, 2003-2015
    - ``household_deposits``: billion yuan, 2002-2014
    - ``loan_share``, ``gdp_share``, ``population_share``: fraction of the four-region sum
    - ``loan_to_gdp``: years (loan stock / nominal GDP flow)
    - ``loans_national``, ``deposits_national``: dim ``year`` only, billion yuan, 2000-2015
    - fiscal, investment and price series of :func:`sd_model.data_derived.derived_series`:
      ``fiscal_revenue``, ``fiscal_expenditure``, ``net_fiscal_inflow`` (billion yuan/year,
      2000-2015), ``net_fiscal_inflow_to_gdp``, ``investment_to_gdp``,
      ``investment_to_gdp_national_scaled`` (fractions), ``capital_output``,
      ``capital_output_current`` (years), ``loan_to_deposit`` (1), ``retail_price_index``,
      ``fai_growth``; structure 2000-2015: ``secondary_share``, ``industry_share`` (of GDP),
      ``soe_industry_asset_share``, ``soe_industry_profit_rate``, ``industry_profit_rate``
      (fractions), ``average_wage`` (yuan/year)
    """
    from .data_derived import derived_series

    if deflator not in PRE2000_DEFLATORS:
        raise unknown_name("pre-2000 deflator", deflator, PRE2000_DEFLATORS, where="load_observations")
    folder = resolve_data_dir(data_dir)
    regions = load_regions(folder)
    prov = {n: load_provincial(n, folder) for n in _CORE}
    national = load_national(folder)
    years = np.arange(1978, max(int(d["year"].max()) for d in prov.values()) + 1)
    wide = {n: _wide(d, years) for n, d in prov.items()}
    src = {n: SERIES[n][0] for n in _CORE}
    data: dict[str, tuple[np.ndarray, dict]] = {}

    def put(var, values, units, source, note):
        data[var] = (values, {"units": units, "source": source, "note": note})

    def simple(var, name, note, **kw):
        put(var, _regional_sum(wide[name], regions, **kw), SERIES[name][3], src[name], note)

    simple("gdp_nominal", "gdp_nominal",
           "Sum of provincial GDP (亿元/10). Vintage break in 2000: 1978-1999 Compendium vintage, "
           "2000-2015 NBS database vintage (NBS/Compendium 2000: East 0.994, Central 1.012, "
           "West 1.003, Northeast 0.949). Provinces do not add up to national GDP.")
    simple("population", "population",
           "Sum of provincial year-end population (万人/100). Definition break in 2000: before 2000 "
           "registered/mixed, from 2000 resident population (e.g. Shanghai +22.5% 1999->2000).")
    simple("urban_population", "urban_population",
           "Sum of provincial urban population (万人/100), 2005-2015 only.")
    simple("gfcf_nominal", "gfcf_nominal",
           "Sum of provincial GFCF (亿元/10); Sichuan includes Chongqing before 1996. Provinces "
           "over-report: sum exceeds national GFCF by +6% (2000) to +35% (2015).", chongqing_in_sichuan=True)
    simple("loans", "loans_fi",
           "Sum of provincial year-end RMB loans of financial institutions (Wind/PBoC), 2003-2015. "
           "Provinces sum to 2.6-4.8% less than the national total (head-office loans).")
    simple("deposits", "deposits_fi",
           "Sum of provincial year-end RMB deposits of financial institutions (Wind/PBoC), 2003-2015. "
           "Break in 2015 (non-deposit-taking FIs' deposits counted), concentrated in the East.")
    simple("household_deposits", "household_savings_deposits",
           "Sum of provincial year-end household RMB savings deposits, 2002-2014; not total deposits.")

    put("capital_2000", _regional_sum(wide["capital_stock_1952prices"] * wide["investment_price_index"].loc[2000],
                                      regions, chongqing_in_sichuan=True),
        "billion yuan, 2000 prices", f"{src['capital_stock_1952prices']}, {src['investment_price_index']}",
        "Provincial perpetual-inventory stock at 1952 prices x the province's own investment price "
        "index of 2000 (1952=1), summed by region. Before 1996 Sichuan includes Chongqing and is "
        "revalued with Sichuan's index. Inherits the GFCF over-reporting after about 2008.")

    # real GDP: 2000-2015 from the NBS-index file; 1978-1999 backwards with the chosen deflator
    real = _regional_sum(wide["gdp_real_2000prices"], regions)
    deflated = _regional_sum(wide["gdp_nominal_compendium_vintage"] / pre2000_price_level(deflator, wide), regions)
    i0 = int(np.where(years == 2000)[0][0])
    early = years < 2000
    real[early] = real[i0] * deflated[early] / deflated[i0]
    # the screened investment index is built from both price indices
    deflator_src = src.get(deflator) or f"{src['investment_price_index']}, {src['retail_price_index']}"
    put("gdp_real_2000", real, "billion yuan/year, 2000 prices",
        f"{src['gdp_real_2000prices']}, {src['gdp_nominal_compendium_vintage']}, {deflator_src}",
        "2000-2015: sum of provincial real GDP (2000 nominal x cumulative NBS GDP index). 1978-1999: "
        "PROXY, no provincial real-GDP index before 2000 exists. Each province's Compendium-vintage "
        f"nominal GDP is deflated by its own {deflator.replace('_', ' ')} rebased to 2000=1 "
        "(Chongqing before 1996 chained to Sichuan's index); the regional sum gives the growth path, "
        "scaled so that 2000 equals the NBS-vintage 2000 value (splices the 2000 vintage break). "
        "Deflator chosen by sd_model.data_deflator.deflator_test (2001-2015 growth RMSE against the "
        "NBS real index: investment price index 2.99 points, retail price index 3.43)."
        + (f" Screened: a province's yearly change more than {PRICE_SCREEN_GAP:g} log points from its retail "
           "index's is the retail index's (9 province-years, 1984-1993; data/raw/SOURCES.md, Fourth test)."
           if deflator == "investment_price_index_screened" else ""))

    shares = {"loan_share": ("loans", "Regional loans / sum of the four regions (not of the national "
                             "total, which is 2.6-4.8% larger)."),
              "gdp_share": ("gdp_nominal", "Nominal GDP / sum of the four regions; vintage break in 2000."),
              "population_share": ("population", "Population / sum of the four regions; definition "
                                   "break in 2000.")}
    for var, (base, note) in shares.items():
        values = data[base][0]
        put(var, values / values.sum(axis=1, keepdims=True), "1 (fraction)", data[base][1]["source"], note)
    put("loan_to_gdp", data["loans"][0] / data["gdp_nominal"][0], "years",
        f"{src['loans_fi']}, {src['gdp_nominal']}", "Year-end loan stock / nominal GDP of the year.")
    core = {v: vals for v, (vals, _) in data.items()}
    data.update(derived_series(wide, regions, core, national.reindex(years)))

    ds = xr.Dataset({v: (("year", "region"), vals, attrs) for v, (vals, attrs) in data.items()},
                    coords={"year": years, "region": list(REGIONS)})
    nat = national.reindex(years)
    for var, col in (("loans_national", "loans"), ("deposits_national", "deposits")):
        ds[var] = xr.DataArray(nat[col].to_numpy(), dims="year",
                               attrs={"units": national.attrs["units"][col], "source": "national_nbs.csv",
                                      "note": f"National RMB {col} of financial institutions (NBS), "
                                              "2000-2015; includes head-office amounts not allocated "
                                              "to provinces."})
    ds.attrs.update(data_dir=str(folder), provenance="see SOURCES.md in data_dir",
                    pre2000_deflator=deflator)
    return ds


def initial_values(year: int = 1978, data_dir: str | os.PathLike | None = None) -> dict[str, dict[str, float]]:
    """Model initial values per region for ``year``.

    Returns
    -------
    dict
        ``{region: {"capital": billion yuan at 2000 prices, "population": million persons,
        "gdp": billion yuan/year at 2000 prices, "gdp_nominal": billion yuan/year at current
        prices}}`` for each region of :data:`REGIONS`.

    Raises
    ------
    sd_model.errors.DataError
        If ``year`` is not covered or a value is missing.
    """
    ds = load_observations(data_dir)
    variables = {"capital": "capital_2000", "population": "population",
                 "gdp": "gdp_real_2000", "gdp_nominal": "gdp_nominal"}
    if year not in ds["year"].values:
        raise DataError(f"initial_values: year {year} is outside the data "
                        f"({int(ds.year.min())}-{int(ds.year.max())})")
    out = {reg: {key: float(ds[var].sel(year=year, region=reg)) for key, var in variables.items()} for reg in REGIONS}
    missing = [(var, reg) for reg in REGIONS for key, var in variables.items() if not math.isfinite(out[reg][key])]
    if missing:
        raise DataError(f"initial_values: {missing[0][0]} for {missing[0][1]} in {year} is missing in the data")
    return out
