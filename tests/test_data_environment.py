"""The green-accounting cost of environmental degradation (sd_model.data_environment)."""
from __future__ import annotations

import numpy as np
import pytest

from sd_model.calibration.config import load_config
from sd_model.calibration.targets import config_observations
from sd_model.data_environment import ENVIRONMENTAL_COST_FILE, load_environmental_cost
from sd_model.errors import DataError


def test_values_are_the_stated_percentages():
    # data/raw/SOURCES.md: 3.05% (2004, SEPA/NBS), 3.9, 3.8 and 3.5% (2008-2010, CAEP), as the source page states
    df = load_environmental_cost()
    assert list(df.index) == [2004, 2008, 2009, 2010]
    np.testing.assert_allclose(df["cost_share"], [0.0305, 0.039, 0.038, 0.035])
    np.testing.assert_allclose(df["cost"], [511.8, 1270.0, 1400.0, 1538.95])  # billion yuan
    assert df.loc[2004, "coverage"].startswith("environmental pollution cost only")


def test_calibration_observations_carry_the_series_with_gaps():
    obs = config_observations(load_config("experiments/calibration/default.toml"))
    series = obs["environmental_cost_national"]
    assert series.attrs["units"] == "fraction of GDP"
    present = series.dropna("year")
    assert [int(y) for y in present["year"]] == [2004, 2008, 2009, 2010]  # nothing interpolated in 2005-2007
    assert float(series.sel(year=2010)) == pytest.approx(0.035)


@pytest.mark.parametrize("row, message", [
    ("2004,abc,5118,x,y", "cost_pct_gdp"),
    ("2004,120,5118,x,y", "percentage of GDP"),
])
def test_bad_rows_are_refused_with_file_and_line(tmp_path, row, message):
    folder = tmp_path
    (folder / ENVIRONMENTAL_COST_FILE).write_text("year,cost_pct_gdp,cost_100m_yuan,coverage,source\n" + row + "\n")
    with pytest.raises(DataError) as err:
        load_environmental_cost(folder)
    assert ENVIRONMENTAL_COST_FILE in str(err.value) and "line 2" in str(err.value) and message in str(err.value)


def test_duplicate_year_is_refused(tmp_path):
    (tmp_path / ENVIRONMENTAL_COST_FILE).write_text(
        "year,cost_pct_gdp,cost_100m_yuan,coverage,source\n2004,3,1,a,b\n2004,3,1,a,b\n")
    with pytest.raises(DataError, match="line 3: duplicate year 2004"):
        load_environmental_cost(tmp_path)
