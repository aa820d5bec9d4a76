"""Constants at 0 in every member folded out of the batch engine's code (sd_model.batch.zeros).

The folded code must give every value of the generic code to the last bit: on the shipped model in
the historical scenario (levers off: 31 variables 0 throughout) and with every lever on, and for
members of which only some hold a constant at 0 (then it is not folded). A small model checks the
folded trees against trees written by hand, the rules that must not fold, and its values against
an Euler loop written by hand.
"""
from __future__ import annotations

import ast

import numpy as np
import pytest

from sd_model.batch import BatchModel
from sd_model.batch.engine import BatchSim
from sd_model.batch.parse import parse
from sd_model.batch.zeros import fold_zeros, zero_constants
from sd_model.run import DEFAULT_MODEL
from sd_model.scenario import load_scenario


def _loop_operations(source: str) -> int:
    start = source.index("t = CLOCK[k]")
    count = 0
    for line in source[start:source.index("k += 1", start)].splitlines()[1:]:
        line = line.strip()
        if not line.startswith(("if ", "del ", "saved[")):
            count += sum(isinstance(n, (ast.BinOp, ast.UnaryOp, ast.Call)) for n in ast.walk(ast.parse(line)))
    return count


def _assert_bitwise_equal(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> None:
    assert a.keys() == b.keys()
    for name in a:
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)
        assert np.array_equal(np.signbit(a[name]), np.signbit(b[name])), name  # not even a zero's sign differs


@pytest.fixture(scope="module")
def shipped() -> BatchModel:
    return BatchModel(DEFAULT_MODEL)


def _sims(shipped: BatchModel) -> tuple[BatchSim, BatchSim]:
    return (shipped.compile(None, final_time=2100, fold_zeros=True),
            shipped.compile(None, final_time=2100, fold_zeros=False))


@pytest.mark.parametrize("scenario, folded_constants, folded_variables", [
    ("historical", 14, 19),  # 8 lever intensities and 6 calibrated constants; activities, Aid Paid, Aid Pool, ...
    ("coordinated_strong", 6, 0),  # every lever on: the 6 calibrated constants only
])
def test_shipped_model_folded_equals_generic_bit_for_bit(shipped, scenario, folded_constants, folded_variables):
    on, off = _sims(shipped)
    params = load_scenario(scenario).resolve(shipped.info).params
    K = on.constants(3, params)
    code = on.code_for(K)
    assert len(zero_constants(on.model, K)) == folded_constants
    assert len(code.zero) == folded_variables
    assert off.code_for(K) is off._generic and code is not on._generic
    if scenario == "historical":
        assert {"Aid Paid", "Aid Pool", "Ecological Compensation", "Guarantee Fund Cost", "Directed Credit Share"} <= code.zero
        assert _loop_operations(code.source) <= _loop_operations(on.source) - 40
    else:
        assert _loop_operations(code.source) < _loop_operations(on.source)
    K[on.model.consts["Capital Elasticity"]][...] = [0.4, 0.45, 0.5]  # members differ
    _assert_bitwise_equal(on.run_constants(K, 3), off.run_constants(K, 3))


def test_constant_at_zero_in_some_members_only_is_not_folded(shipped):
    on, off = _sims(shipped)
    params = load_scenario("historical").resolve(shipped.info).params
    aid = on.model.consts["Aid Intensity"]
    K_off = on.constants(3, params)
    K_mixed = on.constants(3, params)
    K_mixed[aid][...] = [0.0, 0.5, 0.0]
    all_off, mixed = on.code_for(K_off), on.code_for(K_mixed)
    assert "Aid Intensity" in zero_constants(on.model, K_off)
    assert "Aid Intensity" not in zero_constants(on.model, K_mixed)
    assert "Aid Paid" in all_off.zero and "Aid Paid" not in mixed.zero
    assert "Ecological Compensation" in mixed.zero  # the other levers are still folded
    assert on.code_for(on.constants(2, params)) is all_off  # kept per set of zero constants
    got = on.run_constants(K_mixed, 3)
    _assert_bitwise_equal(got, off.run_constants(K_mixed, 3))
    assert np.any(got["Aid Paid"][1] > 0) and not np.any(got["Aid Paid"][[0, 2]])
    assert not np.array_equal(got["GDP"][1], got["GDP"][0])


def test_ensemble_engine_prepares_the_folded_code_before_forking(shipped):
    from sd_model.batch import BatchEngine
    from sd_model.runspec import build_spec

    engine = BatchEngine(DEFAULT_MODEL)
    sim = engine.runner(build_spec(engine.info, outputs=["GDP"]))
    assert len(sim._variants) == 1 and sim.code_for(sim.constants(4)) is next(iter(sim._variants.values()))


HAND_MODEL = """{UTF-8}
Region: East, West ~ ~ |
Lever = 0 ~ Dmnl ~ |
Rate = 0.05 ~ 1/Year ~ |
Weight[Region] = 1, 2 ~ Dmnl ~ |
Initial Capital[Region] = 100, 50 ~ Yuan ~ |
Capital[Region] = INTEG(Investment[Region], Initial Capital[Region]) ~ Yuan ~ |
Lever Activity = Lever * MIN(1, MAX(0, Time - 2000)) ~ Dmnl ~ |
Investment[Region] = Capital[Region] * Rate * (1 - Lever Activity) + Lever Activity * Capital[Region] ^ 2 \
    + Lever Stock[Region] ~ Yuan/Year ~ |
Lever Stock[Region] = INTEG(Lever Activity * Capital[Region] - Lever Stock[Region] / 2, 0) ~ Yuan ~ |
Counted[Region] = (Capital[Region] > 60) + Lever ~ Dmnl ~ |
Guarded[Region] = Capital[Region] / Lever + Lever ^ 2 + Capital[Region] ^ Lever ~ Dmnl ~ |
Negated[Region] = Lever - Capital[Region] ~ Yuan ~ |
Exp Lever = EXP(Lever) + LN(1 + Lever) ~ Dmnl ~ |
Summed = SUM(Rate + Lever * Weight[Region!]) ~ Dmnl ~ |
Weighted = SUM(Weight[Region!] * (1 + Lever)) ~ Dmnl ~ |
Vanishing = SUM(Lever * Weight[Region!]) + MAX(Lever, Lever Activity) ~ Dmnl ~ |
FINAL TIME = 2010 ~ Year ~ |
INITIAL TIME = 2000 ~ Year ~ |
SAVEPER = 1 ~ Year ~ |
TIME STEP = 0.25 ~ Year ~ |
"""


@pytest.fixture()
def hand(tmp_path) -> BatchModel:
    path = tmp_path / "hand.mdl"
    path.write_text(HAND_MODEL, encoding="utf-8")
    return BatchModel(path)


def test_hand_model_folds_as_written_by_hand(hand):
    times = {"initial time": 2000.0, "final time": 2010.0, "time step": 0.25, "saveper": 1.0}
    folded = fold_zeros(hand.model, frozenset({"Lever"}), times)
    assert folded is not None
    assert folded.zero == {"Lever Activity", "Lever Stock", "Vanishing"}  # a stock that stays 0, too
    tree = {n: e.tree for n, e in folded.model.eqs.items()}
    # Capital * Rate * (1 - 0) + 0 * Capital ^ 2 + 0: the loop's regrouped tree, folded
    assert folded.loop_trees["Capital"] == parse("Investment[Region]")
    assert folded.loop_trees["Investment"] == tree["Investment"] == parse("Capital[Region] * Rate")
    assert folded.model.eqs["Lever Stock"].kind == "aux" and tree["Lever Stock"] == parse("0")
    # what must not fold: a comparison's + 0 (it is made float64), 0 - x, x / 0, 0 ^ 2, x ^ 0, EXP(0), LN(1)
    assert tree["Counted"] == parse("(Capital[Region] > 60) + 0")
    assert tree["Negated"] == parse("0 - Capital[Region]")
    assert tree["Guarded"] == parse("Capital[Region] / 0 + 0 ^ 2 + Capital[Region] ^ Lever")
    assert tree["Exp Lever"] == parse("EXP(0) + LN(1)")
    # a term with the summed axis dropped would change the SUM: its argument stays as written
    assert tree["Summed"] == hand.model.eqs["Summed"].tree
    assert tree["Weighted"] == parse("SUM(Weight[Region!])")
    assert tree["Vanishing"] == parse("0")


def test_hand_model_values_equal_an_euler_loop_by_hand(hand):
    on = hand.compile(None, fold_zeros=True)
    off = hand.compile(None, fold_zeros=False)
    K = on.constants(2)
    assert on.code_for(K).zero == {"Lever Activity", "Lever Stock", "Vanishing"}
    assert _loop_operations(on.code_for(K).source) < _loop_operations(off.source)
    with np.errstate(divide="ignore"):
        got, generic = on.run_constants(K, 2), off.run_constants(K, 2)
    _assert_bitwise_equal(got, generic)
    capital = np.array([100.0, 50.0])
    want = [capital]
    for _ in range(40):
        capital = capital + 0.25 * (capital * 0.05)
        want.append(capital)
    np.testing.assert_array_equal(got["Capital"][0], np.array(want)[::4])
    np.testing.assert_array_equal(got["Counted"][0], (np.array(want)[::4] > 60).astype(float))
    np.testing.assert_array_equal(got["Negated"][0], -np.array(want)[::4])
    assert got["Summed"][0, 0] == 0.1 and got["Weighted"][0, 0] == 3.0 and got["Exp Lever"][0, 0] == 1.0
    assert not np.any(got["Vanishing"]) and not np.any(got["Lever Stock"])
    # Lever at 0 in one member only: nothing folded, both members as the generic code computes them
    K[on.model.consts["Lever"]][...] = [0.0, 0.01]
    assert on.code_for(K) is on._generic
    with np.errstate(divide="ignore"):
        _assert_bitwise_equal(on.run_constants(K, 2), off.run_constants(K, 2))
