"""Tests of sd_model.data_finance against the CSV read with the csv module."""
from __future__ import annotations

import csv
import math
from pathlib import Path

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
