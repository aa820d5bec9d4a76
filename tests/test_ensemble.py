"""Tests of sd_model.ensemble and sd_model.sampling on the shipped model."""
from __future__ import annotations

import numpy as np
import pytest

from sd_model.ensemble import run_ensemble
from sd_model.run import run_scenario
from sd_model.sampling import sample_parameters
from sd_model.scenario import Scenario

RANGES = {"Capital Elasticity": (0.3, 0.45), "Initial Schooling[West]": (3.5, 4.5), "Location Factor": (0.7, 1.0)}


def test_simlin_ensemble_equals_single_runs(simlin_engine):
    sets = sample_parameters(RANGES, 6, seed=3)
    ds = run_ensemble(Scenario(final_time=2000), sets, ["National GDP", "GDP"], engine="simlin", workers=2,
                      progress=False)
    assert not ds["failed"].any()
    for m in (0, 5):
        row = sets.loc[m]
        single = run_scenario(Scenario(final_time=2000, params={
            "Capital Elasticity": row["Capital Elasticity"],
            "Initial Schooling": {"West": row["Initial Schooling[West]"]},
            "Location Factor": row["Location Factor"]}), simlin_engine)
        np.testing.assert_array_equal(ds["GDP"].sel(member=m).values, single["GDP"].values)
