"""Penn World Table 10.01: China's labour share and TFP level relative to the United States; the US TFP eras.

National only (PWT has no provinces). Used as calibration anchors for the output elasticity of capital
and for the size of the technology gap (:mod:`sd_model.calibration.targets`); caveats in
``data/raw/SOURCES.md``: ``labsh`` is a constant fill before 1993, and PWT's real GDP for China is not
the official series, so only the *level* of ``ctfp`` near the ICP benchmark years is comparable.
"""
from __future__ import annotations

import os

import numpy as np
import pandas as pd

from .data import read_yearly, resolve_data_dir
from .data_employment import load_pwt_usa

PWT_FILE = "national_pwt1001_china.csv"

#: CSV column -> name, units.
COLUMNS = {"labsh": ("labour_share", "1 (fraction of GDP)"),
           "ctfp": ("tfp_relative_us", "1 (USA = 1, current PPPs)"),
           "cwtfp": ("welfare_tfp_relative_us", "1 (USA = 1, current PPPs)"),
           "hc": ("human_capital_index", "1 (index)")}

#: First year in which PWT's labour share for China is an observation (1978-1992 repeat one value).
FIRST_OBSERVED_LABOUR_SHARE = 1993


def load_pwt_china(data_dir: str | os.PathLike | None = None) -> pd.DataFrame:
    """China's rows of PWT 10.01, indexed by year (1978-2015).

    Returns
    -------
    pandas.DataFrame
        ``labour_share`` (labour compensation / GDP; NaN before :data:`FIRST_OBSERVED_LABOUR_SHARE`,
        where PWT repeats a constant), ``tfp_relative_us`` (``ctfp``), ``welfare_tfp_relative_us``
        (``cwtfp``), ``human_capital_index`` (``hc``); ``df.attrs["units"]`` maps column -> units.
    """
    df = read_yearly(resolve_data_dir(data_dir) / PWT_FILE, {c: n for c, (n, _) in COLUMNS.items()})
    df.loc[df.index < FIRST_OBSERVED_LABOUR_SHARE, "labour_share"] = float("nan")
    df.attrs.update(source=PWT_FILE, units={n: u for n, u in COLUMNS.values()})
    return df


#: PWT's returns to a year of schooling by band, (first year, last year, return): hc = exp(phi(s)) with
#: phi piecewise linear (Feenstra, Inklaar and Timmer 2015, American Economic Review 105(10), and PWT's
#: human-capital documentation, after Psacharopoulos 1994, World Development 22(9)).
SCHOOLING_RETURNS = ((0.0, 4.0, 0.134), (4.0, 8.0, 0.101), (8.0, float("inf"), 0.068))


def schooling_years_from_hc(hc) -> np.ndarray:
    """Average years of schooling that PWT's human-capital index ``hc`` stands for (years).

    Inverts ``hc = exp(phi(s))`` band by band (:data:`SCHOOLING_RETURNS`); NaN stays NaN.
    """
    log_hc = np.log(np.asarray(hc, dtype=float))
    years = np.full(log_hc.shape, np.nan)
    floor = 0.0  # phi at the start of the band
    for first, last, rate in SCHOOLING_RETURNS:
        width = (last - first) * rate
        inside = (log_hc >= floor) & (log_hc <= floor + width)
        years = np.where(inside & np.isnan(years), first + (log_hc - floor) / rate, years)
        floor += width
    return years


#: US productivity eras (Fernald 2014, "Productivity and potential output before, during, and after the Great
#: Recession", NBER Macroeconomics Annual 29: breaks in 1995 and 2004), cut at the project's last data year.
FRONTIER_ERAS = ((1978, 1995), (1995, 2004), (2004, 2015))


def frontier_growth_eras(data_dir: str | os.PathLike | None = None) -> pd.DataFrame:
    """US TFP growth in each era of :data:`FRONTIER_ERAS`, and over their whole span, from PWT ``rtfpna``.

    Returns
    -------
    pandas.DataFrame
        One row per era and a last row for the whole span 1978-2015: ``start``, ``end`` (years) and
        ``log_growth`` = ln(rtfpna[end] / rtfpna[start]) / (end - start), 1/year, the continuous rate at
        which the model's frontier (``Frontier TFP``, a stock growing at ``Frontier Growth``) moves
        from the era's first level to its last.
    """
    tfp = load_pwt_usa(data_dir)["rtfpna"]
    spans = list(FRONTIER_ERAS) + [(FRONTIER_ERAS[0][0], FRONTIER_ERAS[-1][1])]
    rows = [(a, b, float(np.log(tfp[b] / tfp[a]) / (b - a))) for a, b in spans]
    out = pd.DataFrame(rows, columns=["start", "end", "log_growth"])
    out.attrs.update(units={"log_growth": "1/year"}, source="national_pwt1001_usa.csv")
    return out
