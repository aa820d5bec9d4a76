"""Time blocks computed once for the constants every member shares (sd_model.batch.engine.shared_by_members)."""
from __future__ import annotations

import numpy as np
import pytest

import sd_model.batch.engine as engine
from sd_model.batch import BatchModel
from sd_model.run import DEFAULT_MODEL

#: Constants the shipped model's Time blocks read (lever timing and intensity, the frontier after its data).
VARIED = {"Frontier Growth Rate": (0.005, 0.02), "Lever Phase In Time": (3.0, 8.0), "Aid Intensity": (0.0, 0.01)}


def test_only_arrays_equal_for_every_member_are_cut_to_one():
    K = {"same": np.array([[2.0, 2.0, 2.0], [5.0, 5.0, 5.0]]), "differs": np.array([1.0, 1.0, 1.5]),
         "nan": np.array([np.nan, np.nan, np.nan]), "one": np.array([[3.0], [4.0]]), "unread": np.zeros(3)}
    out = engine.shared_by_members(K, ["same", "differs", "nan", "one"])
    assert set(out) == {"same", "differs", "nan", "one"}
    np.testing.assert_array_equal(out["same"], [[2.0], [5.0]])
    assert out["differs"] is K["differs"] and out["nan"] is K["nan"] and out["one"] is K["one"]


@pytest.fixture(scope="module")
def shipped_sim():
    return BatchModel(DEFAULT_MODEL).compile(["GDP", "Net Migration", "Loans", "Theil Index", "Aid Paid"],
                                             final_time=2060)


def _varied_constants(sim, n):
    K = sim.constants(n)
    rng = np.random.default_rng(3)
    for name, (lo, hi) in VARIED.items():
        K[sim.model.consts[name]][...] = rng.uniform(lo, hi, n)
    return K


def test_shipped_blocks_read_shared_and_varied_constants(shipped_sim):
    """Both paths are exercised: the varied constants stay per member, the rest are cut to one."""
    n = 5
    K = _varied_constants(shipped_sim, n)
    K = {**K, **shipped_sim._fn["setup"](K, n)}
    reads = shipped_sim._fn["BLOCK_READS"]
    cut = engine.shared_by_members(K, reads)
    varied = {shipped_sim.model.consts[name] for name in VARIED}
    assert varied <= set(reads)
    assert all(cut[name].shape[-1] == n for name in varied)
    assert sum(arr.shape[-1] == 1 for arr in cut.values()) >= len(reads) - len(varied) - 5 > 20


def test_each_member_equals_its_own_run_with_blocks_shared(shipped_sim):
    """Members that differ in constants the blocks read, run together, equal each member run alone."""
    n = 5
    K = _varied_constants(shipped_sim, n)
    together = shipped_sim.run_constants(K, n)
    for m in range(n):
        alone = shipped_sim.run_constants({k: np.ascontiguousarray(v[..., m:m + 1]) for k, v in K.items()}, 1)
        for name, arr in together.items():
            np.testing.assert_allclose(arr[m], alone[name][0], rtol=1e-12, atol=0, err_msg=f"{name}, member {m}")
    assert not np.allclose(together["GDP"][0], together["GDP"][1])  # the members do differ


def test_sharing_leaves_every_value_unchanged(shipped_sim, monkeypatch):
    n = 4
    K = _varied_constants(shipped_sim, n)
    shared = shipped_sim.run_constants(K, n)
    monkeypatch.setattr(engine, "shared_by_members", lambda K, names: {k: K[k] for k in names})
    whole = shipped_sim.run_constants(K, n)
    for name in shared:
        np.testing.assert_allclose(shared[name], whole[name], rtol=1e-13, atol=0, err_msg=name)
