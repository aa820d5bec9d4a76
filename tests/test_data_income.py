"""Factor shares by region from the provincial income-approach accounts (sd_model.data_income)."""
from __future__ import annotations

import shutil

import numpy as np
import pytest

from sd_model.data import resolve_data_dir
from sd_model.data_income import load_factor_shares
from sd_model.errors import DataError

FILE = "provincial_gdp_income_approach.csv"
RAW_DIR = resolve_data_dir()


def test_northeast_shares_hand_summed_from_the_raw_rows():
    # data/raw/provincial_gdp_income_approach.csv, Liaoning + Jilin + Heilongjiang (100 million yuan):
    # 2010 total 13896.3 + 6410.5 + 8308.3, labour 6957.2 + 2879.6 + 3647.6, net taxes 1644.6 + 781.3 + 1334.3;
    # 2015 total 20210.3 + 10018 + 11690, labour 10645.2 + 4683.3 + 6554, net taxes 2046.5 + 1199.0 + 1321.1
    shares = load_factor_shares()
    ne = shares["capital_share"].sel(region="Northeast")
    assert float(ne.sel(year=2010)) == pytest.approx(1 - 13484.4 / (28615.1 - 3760.2), abs=1e-9)
    assert float(ne.sel(year=2015)) == pytest.approx(1 - 21882.5 / (41918.3 - 4566.6), abs=1e-9)
    np.testing.assert_allclose(shares["capital_share"] + shares["labour_share"], 1.0)


def test_regional_means_quoted_in_sources():
    # data/raw/SOURCES.md, "Added in session 30": 2000-2010 means 0.486, 0.401, 0.417, 0.456; the four regions 0.454
    shares = load_factor_shares().sel(year=slice(2000, 2010))
    np.testing.assert_allclose(shares["capital_share"].mean("year"), [0.486, 0.401, 0.417, 0.456], atol=5e-4)
    assert float(shares["capital_share_national"].mean("year")) == pytest.approx(0.454, abs=5e-4)
    assert list(shares["region"].values) == ["East", "Central", "West", "Northeast"]


def test_a_bad_number_names_the_file_and_line(tmp_path):
    shutil.copy(RAW_DIR / "regions.csv", tmp_path / "regions.csv")
    lines = (RAW_DIR / FILE).read_text(encoding="utf-8").splitlines()
    lines[3] = lines[3].replace(",", ",x", 3)  # the third data row: a value that is not a number
    (tmp_path / FILE).write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(DataError) as err:
        load_factor_shares(tmp_path)
    assert FILE in str(err.value) and "line 4" in str(err.value)
