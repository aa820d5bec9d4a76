"""Tests of sd_model.data_finance against the CSV read with the csv module."""
from __future__ import annotations

import csv
import math
from pathlib import Path

import pandas as pd
import pytest

from sd_model.data_finance import FILE, load_national_financing
from sd_model.errors import DataError

RAW = Path(__file__).resolve().parent.parent / "data" / "raw"


def test_values_in_billion_yuan():
    df = load_national_financing(RAW)
    with (RAW / FILE).open(newline="", encoding="utf-8") as fh:
        rows = {int(r["year"]): r for r in csv.DictReader(fh)}
    assert df.loc[2015, "tsf_corporate_bonds"] == pytest.approx(float(rows[2015]["tsf_corporate_bonds_100m_yuan"]) / 10)
    assert df.loc[2000, "equity_raised_total"] == pytest.approx(210.324)
    assert math.isnan(df.loc[2001, "tsf_total_flow"])  # TSF starts in 2002
    assert math.isnan(df.loc[2013, "enterprise_bonds_issued"])  # ends in 2012 in the source
    assert list(df.index) == list(range(2000, 2016))


def test_components_add_up_to_total():
    """TSF components (loans, off-balance-sheet, bonds, equity) add up to the total within 5%
    (the total also holds items not in the file, e.g. local government special bonds)."""
    df = load_national_financing(RAW).loc[2006:2015]
    parts = df[[c for c in df.columns if c.startswith("tsf_") and c != "tsf_total_flow"]].sum(axis=1)
    assert ((parts / df["tsf_total_flow"] - 1).abs() < 0.05).all()


def test_bad_value(tmp_path):
    text = (RAW / FILE).read_text(encoding="utf-8").replace("\n2005,", "\n2005x,")
    (tmp_path / FILE).write_text(text, encoding="utf-8")
    with pytest.raises(DataError, match=rf"{FILE}, line 7: year '2005x'"):
        load_national_financing(tmp_path)


def test_missing_file(tmp_path):
    with pytest.raises(DataError, match="data file not found"):
        load_national_financing(tmp_path)


# ------------------------------------------------------------------ benchmark lending rates
from sd_model.data_finance import RATES_FILE, benchmark_lending_rate_annual, load_benchmark_lending_rates  # noqa: E402


def test_lending_rates_copy_of_sources():
    r = load_benchmark_lending_rates(RAW)
    assert r.index[0] == pd.Timestamp("1991-04-21") and r.index[-1] == pd.Timestamp("2015-10-24")
    assert len(r) == 40
    # values printed in the two sources (fractions there, percent here)
    assert r.loc["2008-12-23", "6m_to_1y"] == pytest.approx(5.31)
    assert r.loc["1993-07-11", "6m_to_1y"] == pytest.approx(10.98)
    assert r.loc["2015-10-24", "over_5y"] == pytest.approx(4.90)
    assert r.loc["1991-04-21", "6m_to_1y"] == pytest.approx(8.64)  # corrected from 8.614, see SOURCES.md
    assert r.loc["2015-06-28", "over_5y"] == pytest.approx(5.40)
    assert math.isnan(r.loc["2014-11-22", "up_to_6m"])


def test_lending_rate_annual_hand_computed():
    a = benchmark_lending_rate_annual("6m_to_1y", RAW)
    # 2002: 5.85 until 20 Feb (51 days), 5.31 from 21 Feb (314 days)
    assert a.loc[2002, "mean"] == pytest.approx((5.85 * 51 + 5.31 * 314) / 365)
    assert a.loc[2002, "year_end"] == pytest.approx(5.31)
    assert a.loc[2013, "mean"] == pytest.approx(6.00)  # unchanged all year
    assert a.loc[2015, "year_end"] == pytest.approx(4.35)
    assert math.isnan(a.loc[1991, "mean"])  # the rate before 1991-04-21 is not in the data
    # 2015: 5.60 to 28 Feb (59 days), 5.35 to 10 May (71), 5.10 to 27 Jun (48), 4.85 to 25 Aug (59),
    # 4.60 to 23 Oct (59), 4.35 from 24 Oct (69 days)
    days = [(5.60, 59), (5.35, 71), (5.10, 48), (4.85, 59), (4.60, 59), (4.35, 69)]
    assert sum(d for _, d in days) == 365
    assert a.loc[2015, "mean"] == pytest.approx(sum(r * d for r, d in days) / 365)
    with pytest.raises(DataError, match="unknown band"):
        benchmark_lending_rate_annual("1y", RAW)


def test_lending_rates_bad_date(tmp_path):
    text = (RAW / RATES_FILE).read_text(encoding="utf-8").replace("\n1993-05-15,", "\n1993-15-05,")
    (tmp_path / RATES_FILE).write_text(text, encoding="utf-8")
    with pytest.raises(DataError, match=rf"{RATES_FILE}, line 3: effective_date '1993-15-05' is not a date"):
        load_benchmark_lending_rates(tmp_path)


# ------------------------------------------------------------------ required reserve ratio
def test_reserve_ratio_year_end():
    from sd_model.data_finance import reserve_requirement_ratio_year_end
    s = reserve_requirement_ratio_year_end(RAW)
    assert list(s.index) == list(range(1985, 2015))
    assert s[1985] == 10 and s[1986] == 10 and s[1988] == 13 and s[1997] == 13
    assert s[1998] == 8 and s[2002] == 6 and s[2004] == 7.5 and s[2006] == 9
    assert s[2007] == 14.5 and s[2008] == 15.5 and s[2009] == 15.5 and s[2011] == 21 and s[2014] == 20


def test_reserve_ratio_bad_date(tmp_path):
    from sd_model.data_finance import RRR_FILE, load_reserve_requirement_ratio
    text = (RAW / RRR_FILE).read_text(encoding="utf-8").replace("\n1998-03-21,", "\n1998/03/21,")
    (tmp_path / RRR_FILE).write_text(text, encoding="utf-8")
    with pytest.raises(DataError, match=rf"{RRR_FILE}, line 5: effective_date '1998/03/21'"):
        load_reserve_requirement_ratio(tmp_path)
    rrr = load_reserve_requirement_ratio(RAW)
    small = rrr.set_index("effective_date")["ratio_small"]
    assert small["2008-12-05"] == 14 and small["2012-05-18"] == 16.5 and math.isnan(small["1987"])


def test_deposit_rates():
    from sd_model.data_finance import benchmark_deposit_rate_annual, load_benchmark_deposit_rates
    d = load_benchmark_deposit_rates(RAW)
    assert d.index[0] == pd.Timestamp("1990-04-15") and d.index[-1] == pd.Timestamp("2015-10-24")
    assert d.loc["1993-07-11", "1y"] == pytest.approx(10.98) and d.loc["1993-07-11", "5y"] == pytest.approx(13.86)
    assert math.isnan(d.loc["2011-07-07", "3y"])  # only the 1-year rate after 2008-10-09
    a = benchmark_deposit_rate_annual(RAW)
    assert a.loc[2000, "mean"] == pytest.approx(2.25) and a.loc[2015, "year_end"] == pytest.approx(1.50)
    # 1999: 3.78 to 9 Jun (160 days), 2.25 from 10 Jun (205 days)
    assert a.loc[1999, "mean"] == pytest.approx((3.78 * 160 + 2.25 * 205) / 365)
    assert math.isnan(a.loc[1990, "mean"])


def test_lending_minus_deposit_spread_not_negative():
    """The one-year lending rate is never below the one-year deposit rate at a year-end (separate sources);
    in 1993-1994 both were 10.98%."""
    from sd_model.data_finance import benchmark_deposit_rate_annual
    lend = benchmark_lending_rate_annual("6m_to_1y", RAW)["year_end"]
    dep = benchmark_deposit_rate_annual(RAW)["year_end"].reindex(lend.index)
    spread = lend - dep
    assert (spread >= -1e-12).all()
    assert spread.loc[1993] == pytest.approx(0.0) and spread.loc[2015] == pytest.approx(2.85)


def test_npl():
    from sd_model.data_finance import load_national_npl
    n = load_national_npl(RAW)
    assert list(n.index) == [2003, 2004, 2005, 2006, 2007, 2009, 2010, 2011, 2012, 2015]
    assert n.loc[2015, "npl_ratio"] == pytest.approx(1.67) and n.loc[2015, "npl_balance"] == pytest.approx(1274.4)
    # derived rows equal the arithmetic written in the file (end-2006 + declines during 2006)
    assert n.loc[2005, "npl_ratio"] == pytest.approx(7.1 + 1.5)
    assert n.loc[2005, "npl_balance"] == pytest.approx((12549.2 + 713.1) / 10)
    assert math.isnan(n.loc[2012, "npl_balance"])
    assert n.loc[2003, "universe"].startswith("major")
