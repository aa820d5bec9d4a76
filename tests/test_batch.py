"""The batch engine (sd_model.batch) against pysimlin, an independent implementation.

Every variable at every saved time must agree to 1e-9 relative, for the shipped model with
its defaults, with every lever on, with different parameters per member, with other time
settings, and for the toy model (element-by-element constants, 2-D constants, IF THEN ELSE).

Two regimes (see docs/ensembles.md): with numpy's C-library math (SIMD loops off, in a
subprocess) the two engines do the same arithmetic, and every value agrees to 1e-9 of itself.
With numpy's default SIMD EXP/LN/^ (last-bit differences from the C library), values are
compared to 1e-9 of the variable's magnitude over the run: variables that cross zero (Theil
Component, Net Migration, ...) otherwise show large relative errors at the crossing from
1e-12-sized absolute differences.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from test_model import ALL_LEVERS_ON

from sd_model.batch import BatchEngine, BatchModel
from sd_model.engines import get_engine
from sd_model.errors import ModelFileError, SDModelError
from sd_model.run import DEFAULT_MODEL
from sd_model.parameters import Parameter
from sd_model.sampling import sample_parameters
from sd_model.scenario import Scenario, validate

TOY = Path(__file__).parent / "models" / "toy_two_region.mdl"
RTOL = 1e-9

#: Uncertain constants of several sectors (scalars, whole arrays and single elements).
RANGES = {
    "Capital Elasticity": (0.3, 0.45), "Depreciation Rate": (0.06, 0.12), "Collateral Sensitivity": (0.5, 1.5),
    "Base Migration Rate": (0.003, 0.012), "Income Perception Time": (1.0, 4.0),
    "Investment Response": (0.5, 2.0), "Maximum Reachable Share": (0.5, 0.9),
    "Initial Schooling[West]": (3.5, 4.5), "Regional Fertility Factor[Northeast]": (0.5, 0.9),
    "Aid Intensity": (0.0, 1.0), "Aid Start Year": (1990.0, 2030.0), "Loan Maturity": (2.0, 8.0),
}


def rel_diff(a: np.ndarray, b: np.ndarray) -> float:
    return float((np.abs(a - b) / np.maximum(np.maximum(np.abs(a), np.abs(b)), 1e-6)).max())


def scale_diff(a: np.ndarray, b: np.ndarray) -> float:
    """Largest |a - b| relative to the variable's largest magnitude over the run (floor 1e-6)."""
    return float(np.abs(a - b).max() / max(np.abs(a).max(), np.abs(b).max(), 1e-6))


def assert_equal_runs(batch: dict[str, np.ndarray], ref, names, diff=rel_diff) -> None:
    worst = {n: diff(batch[n], ref[n] if isinstance(ref, dict) else ref[n].values) for n in names}
    bad = {n: w for n, w in worst.items() if not w <= RTOL}
    assert not bad, bad


@pytest.fixture(scope="module")
def shipped() -> BatchModel:
    return BatchModel(DEFAULT_MODEL)


@pytest.mark.parametrize("params", [{}, ALL_LEVERS_ON], ids=["defaults", "all-levers-on"])
def test_every_variable_equals_simlin(shipped, simlin_engine, params):
    valid = validate(Scenario(params=params), shipped.info)
    sim = shipped.compile(None)
    out = sim.run_constants(sim.constants(1, valid.params), 1)
    ref = simlin_engine.run(valid.params)
    assert len(sim.names) == len(ref.data_vars) > 200
    np.testing.assert_array_equal(sim.times, ref.time.values)
    assert_equal_runs({n: a[0] for n, a in out.items()}, ref, sim.names, diff=scale_diff)


def member_diffs() -> dict[str, object]:
    """Largest relative difference per member, batch vs simlin (run in a subprocess, see below)."""
    import math

    from sd_model.run import load_engine
    from sd_model.runspec import build_spec

    rng = np.random.default_rng(0)
    x = rng.uniform(-20, 20, 20000)
    libm = bool((np.exp(x) == np.array([math.exp(v) for v in x])).all()
                and (np.power(np.abs(x), 0.35) == np.array([math.pow(abs(v), 0.35) for v in x])).all())
    shipped = BatchModel(DEFAULT_MODEL)
    sets = sample_parameters(RANGES, 5, seed=11)
    columns = [Parameter.parse(shipped.info, c) for c in sets.columns]
    base = validate(Scenario(params=ALL_LEVERS_ON), shipped.info).params
    sim = shipped.compile(None, final_time=2060)
    out = sim.run_sets(base, columns, sets.to_numpy())[0]
    simlin = load_engine("simlin")  # its runner: one reused Sim, as ensembles run simlin
    ref_sets, failed, messages = simlin.runner(build_spec(simlin.info, final_time=2060)).run_sets(
        base, columns, sets.to_numpy())
    assert not failed.any(), messages
    worst = []
    for params in ({}, ALL_LEVERS_ON):  # the defaults and every lever on, to 2100
        scenario = validate(Scenario(params=params), shipped.info).params
        full = shipped.compile(None)
        one = full.run_constants(full.constants(1, scenario), 1)
        ref = load_engine("simlin").run(scenario)
        diffs = {n: rel_diff(one[n][0], ref[n].values) for n in full.names}
        worst.append([max(diffs, key=diffs.get), max(diffs.values())])
    for m in range(len(sets)):
        diffs = {n: rel_diff(out[n][m], ref_sets[n][m]) for n in sim.names}
        worst.append([max(diffs, key=diffs.get), max(diffs.values())])
    return {"libm": libm, "n_vars": len(sim.names), "members_differ": rel_diff(out["GDP"][0], out["GDP"][1]),
            "worst": worst}


def test_every_value_equals_simlin_with_the_same_math():
    """Defaults and every lever on to 2100, and five members with a dozen different parameters
    each (every lever on, to 2060), every value to 1e-9 of itself.

    For some of these parameter sets the model is very sensitive to rounding from about 2030
    (GDP per capita of two regions meet, and the kinked migration pull MAX(0, LN(ratio))
    switches back and forth between Euler steps): a 1-ulp difference in EXP or ^ then grows
    to 1e-3 in GDP. numpy's SIMD EXP/LN/^ differ from the C library's (which pysimlin uses) in
    the last bit for ~5 % of arguments, so the equality of the two engines' arithmetic is
    checked with numpy's SIMD loops switched off (NPY_DISABLE_CPU_FEATURES, read at import),
    in a subprocess.
    """
    from numpy._core._multiarray_umath import __cpu_dispatch__

    env = {**os.environ, "NPY_DISABLE_CPU_FEATURES": " ".join(__cpu_dispatch__)}
    code = "import json, test_batch; print(json.dumps(test_batch.member_diffs()))"
    res = subprocess.run([sys.executable, "-c", code], cwd=Path(__file__).parent, env=env, capture_output=True,
                         text=True, timeout=600)
    assert res.returncode == 0, res.stderr[-2000:]
    got = json.loads(res.stdout.strip().splitlines()[-1])
    assert got["libm"], "numpy did not fall back to the C library's EXP/^; the comparison would be moot"
    assert got["n_vars"] > 200 and got["members_differ"] > 1e-3 and len(got["worst"]) == 7
    assert all(w <= RTOL for _, w in got["worst"]), got["worst"]


def test_other_time_settings_equal_simlin(shipped, simlin_engine):
    sim = shipped.compile(["GDP", "Migration", "Perceived GDP per Capita", "Frontier TFP"], final_time=2000,
                          time_step=0.125)
    out = sim.run_constants(sim.constants(2), 2)
    ref = simlin_engine.run(final_time=2000, time_step=0.125, outputs=sim.names)
    assert out["GDP"].shape == (2, 23, 4) and out["Migration"].shape == (2, 23, 4, 4)
    assert_equal_runs({n: a[1] for n, a in out.items()}, ref, sim.names)


def test_loop_saves_the_auxiliaries_it_computes(shipped, simlin_engine):
    """Outputs the time loop computes are saved by it at the saved times (the last one by the
    loop's auxiliaries once more), not recomputed after it; an output the loop does not compute
    (the Theil index) is computed after the loop from what the loop saved. Against simlin,
    with SAVEPER 2 and a final time that is a saved time, and one that is not."""
    names = ["Theil Index", "GDP", "National GDP", "Net Migration"]
    for final in (2000, 1999):
        sim = shipped.compile(names, final_time=final, saveper=2)
        loop, post = sim.source[sim.source.index("def run("):sim.source.index("def post(")], \
            sim.source[sim.source.index("def post("):]
        assert "saved['a_gdp'][k // every] = a_gdp" in loop and "a_gdp =" not in post
        assert "a_theil_index =" in post and "a_theil_index" not in loop
        out = sim.run_constants(sim.constants(2), 2)
        ref = simlin_engine.run(final_time=final, outputs=names).sel(time=sim.times)
        assert sim.times[-1] == 1998 + (final == 2000) * 2 and len(sim.times) == 11 + (final == 2000)
        assert out["GDP"].shape == (2, len(sim.times), 4)
        assert_equal_runs({n: a[1] for n, a in out.items()}, ref, names, diff=scale_diff)


def test_toy_model_equals_simlin(cache_dir):
    engine = BatchEngine(TOY)
    overrides = {"Savings Rate": 0.3, "Credit Share": {"West,East": 0.2}, "Initial Capital": {"East": 120.0}}
    a = engine.run(overrides)
    b = get_engine("simlin", TOY).run(overrides)
    assert list(a.data_vars) == list(b.data_vars)
    assert_equal_runs({n: a[n].values for n in a.data_vars}, b, list(a.data_vars))
    assert a["Capital"].dims == ("time", "Region") and a.attrs["engine"] == "batch"


def test_constants_and_stocks_start_from_their_initial_values(shipped):
    """Independent check of the initial state: Initial TFP from its defining formula by hand."""
    info = shipped.info
    sim = shipped.compile(["TFP", "Capital", "Modern Capital", "Old Industrial Capital", "Initial Capital"],
                          final_time=1980)
    out = sim.run_constants(sim.constants(1), 1)
    alpha = info.get("Capital Elasticity").default
    gdp0 = np.array(list(info.get("Initial GDP").default.values()))
    k0 = np.array(list(info.get("Initial Capital").default.values()))
    pop0 = np.array(list(info.get("Initial Population").default.values()))
    lab = info.get("Labour Participation Rate").default
    working = 1 - info.get("Initial Child Share").default - info.get("Initial Elderly Share").default
    ref_k, ref_l = info.get("Reference Capital").default, info.get("Reference Labour").default
    tfp0 = gdp0 / ((k0 / ref_k) ** alpha * (pop0 * working * lab / ref_l) ** (1 - alpha))
    np.testing.assert_allclose(out["TFP"][0, 0], tfp0, rtol=1e-12)
    # Capital is the sum of two stocks that split the initial capital by the old-industrial share:
    # each stock starts exactly at its part; their sum equals k0 up to one rounding of the addition.
    old = np.array(list(info.get("Initial Old Industrial Share").default.values()))
    np.testing.assert_array_equal(out["Modern Capital"][0, 0], k0 * (1 - old))
    np.testing.assert_array_equal(out["Old Industrial Capital"][0, 0], k0 * old)
    np.testing.assert_allclose(out["Capital"][0, 0], k0, rtol=4e-16)
    np.testing.assert_array_equal(out["Initial Capital"][0], np.tile(k0, (3, 1)))


@pytest.mark.parametrize("equation, message", [
    ("DELAY1(Savings Rate, 2)", r"toy\.mdl:\d+: 'Effective Savings Rate': .*function 'DELAY1' is not supported"),
    ("Savings Rate ^ 2 ^ 2", r"'Effective Savings Rate'.*chained '\^'"),
    ("Savings Rate[Region] * 2", r"'Savings Rate' has 0 subscript\(s\) \[\], referenced with 1"),
    ("SUM(Output[Region])", r"subscript 'Region' of 'Output' is not a dimension of the equation"),
    ("SUM(Savings Rate)", r"SUM needs an argument with a '!' subscript"),
    ("Output[North] * 0", r"unknown subscript 'North' in 'Output'"),
])
def test_unsupported_constructs_fail_naming_variable_and_line(tmp_path, equation, message):
    text = TOY.read_text(encoding="utf-8").replace(
        "IF THEN ELSE(Time >= Policy Start Year, Savings Rate * (1 + Policy Boost), Savings Rate)", equation)
    path = tmp_path / "toy.mdl"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ModelFileError, match=message):
        BatchModel(path).compile(None)


def test_common_subexpressions_are_computed_once_with_the_same_values():
    from sd_model.batch.cse import eliminate_common_subexpressions

    body = [("a", "(x * y + 1.0) * np.maximum(x * y, z)"), ("b", "np.exp(x * y) - (x * y + 1.0)"), ("c", "a * b"),
            ("d", "z - a * b")]
    out = eliminate_common_subexpressions(body)
    code = "\n".join(f"{n} = {c}" for n, c in out)
    assert code.count("x * y") == 1 and code.count("a * b") == 1, code
    rng = np.random.default_rng(2)
    values = {"np": np, "x": rng.normal(size=50), "y": rng.normal(size=50), "z": rng.normal(size=50)}
    plain, reused = dict(values), dict(values)
    exec("\n".join(f"{n} = {c}" for n, c in body), plain)  # noqa: S102
    exec(code, reused)  # noqa: S102
    for name in "abcd":
        np.testing.assert_array_equal(reused[name], plain[name])


def test_numbers_in_the_time_loop_are_arrays_made_once(shipped):
    """Numbers operated on with arrays in the Euler loop are constant arrays made in setup
    (numpy converts a Python float at every call), except exponents (numpy computes ``x ** 2.0``
    from a scalar by other routines); the values equal simlin's (tests above)."""
    import ast
    import textwrap

    source = shipped.compile(["GDP"]).source
    start = source.index("\n", source.index("        for ", source.index("blk = block(KB, T, N)"))) + 1
    loop = textwrap.dedent(source[start:source.index("    if k % every == 0:\n        saved")])
    numbers = []
    for node in ast.walk(ast.parse(loop)):
        if isinstance(node, ast.BinOp) and not isinstance(node.op, ast.Pow):
            numbers += [n for n in (node.left, node.right) if isinstance(n, ast.Constant)]
        if isinstance(node, ast.Call) and ast.unparse(node.func) in ("np.minimum", "np.maximum", "np.where"):
            numbers += [n for n in node.args if isinstance(n, ast.Constant)]
    assert not numbers, [ast.unparse(n) for n in numbers]
    assert "np.full((4,) + B, 1.0)" in source
    assert "- np.minimum(" in loop or "np.maximum(" in loop  # the model has MIN/MAX with numbers in the loop


def test_stocks_of_one_shape_are_updated_together_with_the_same_values():
    """The Euler update of stocks stacked by shape (sd_model.batch.euler) against the plain
    ``stock = stock + dt * flow`` per stock, on random values: bit for bit equal."""
    from sd_model.batch.euler import into, preamble, stock_groups, update

    groups = stock_groups([("s_a", ("Region",)), ("s_b", ()), ("s_c", ("Region",))])
    assert groups == [["s_a", "s_c"], ["s_b"]]
    flows = {"s_a": "x * y - s_a", "s_b": "np.maximum(z, s_b)", "s_c": "x"}
    code = "\n".join([into(c, f"fv_{s}") for s, c in flows.items()] + update(groups, ""))
    assert "np.subtract(x * y, s_a, out=fv_s_a)" in code and "fv_s_c[...] = x" in code
    rng = np.random.default_rng(3)
    x, y, z = rng.normal(size=(4, 7)), rng.normal(size=(4, 7)), rng.normal(size=7)
    S = {"s_a": rng.normal(size=(4, 7)), "s_b": rng.normal(size=7), "s_c": rng.normal(size=(4, 7))}
    stacked = {"np": np, "S": S, "dt": 0.03125, "x": x, "y": y, "z": z}
    exec("\n".join(preamble(groups, "")), stacked)  # noqa: S102
    for _ in range(3):  # three Euler steps
        exec(code, stacked)  # noqa: S102
    a, b, c = S["s_a"], S["s_b"], S["s_c"]
    for _ in range(3):
        a, b, c = a + 0.03125 * (x * y - a), b + 0.03125 * np.maximum(z, b), c + 0.03125 * x
    for name, ref in (("s_a", a), ("s_b", b), ("s_c", c)):
        np.testing.assert_array_equal(stacked[name], ref)


def test_time_as_an_operand_in_the_loop_equals_simlin(tmp_path, cache_dir):
    """``Time`` next to a stock-dependent array in the loop is the step's time, not a number
    made once before the loop (numbers are: see above)."""
    text = TOY.read_text(encoding="utf-8").replace(
        "IF THEN ELSE(Time >= Policy Start Year, Savings Rate * (1 + Policy Boost), Savings Rate)",
        "Savings Rate * (1 + Output[East] * Time / 1e5)")
    path = tmp_path / "toy.mdl"
    path.write_text(text, encoding="utf-8")
    a = BatchEngine(path).run({})
    b = get_engine("simlin", path).run({})
    assert_equal_runs({n: a[n].values for n in a.data_vars}, b, list(a.data_vars))
    assert float(a["Effective Savings Rate"][-1]) > 1.05 * float(a["Effective Savings Rate"][0])


def test_members_run_in_passes_give_the_same_values(cache_dir):
    """Members split into passes of the time loop (``members_per_pass``) give each member the
    values of simlin (an independent implementation, one member at a time) and, bit for bit,
    those of one pass over all members."""
    from sd_model.runspec import build_spec

    simlin = get_engine("simlin", TOY)
    toy = BatchModel(TOY)
    columns = [Parameter.parse(toy.info, c) for c in ("Savings Rate", "Credit Share[West,East]",
                                                        "Initial Capital[East]")]
    values = np.column_stack([np.linspace(0.15, 0.35, 7), np.linspace(0.05, 0.3, 7), np.linspace(80, 140, 7)])
    passes = toy.compile(None, members_per_pass=3)  # 7 members: passes of 2, 3 and 2
    one = toy.compile(None, members_per_pass=100)
    got = passes.run_sets({}, columns, values)[0]
    ref, failed, messages = simlin.runner(build_spec(simlin.info, outputs=passes.names)).run_sets({}, columns, values)
    assert not failed.any(), messages
    assert_equal_runs(got, ref, passes.names)
    single = one.run_sets({}, columns, values)[0]
    for name in passes.names:
        np.testing.assert_array_equal(got[name], single[name])
    assert got["Capital"].shape == (7, 21, 2) and rel_diff(got["Capital"][0], got["Capital"][6]) > 0.01


def test_shipped_model_in_passes_equals_one_pass(shipped):
    """Every variable of the shipped model, five members with different parameters, in passes of
    two members against one pass: the same to the last bit or so. Every member's arithmetic is its
    own, but numpy's SIMD power (and its other vectorised maths) can round an element one unit in
    the last place differently depending on the length of the array: on model 3905ccbf9d52,
    `Receiving Capacity` = `Land Adequacy` ^ 2 differed by 3.3e-16 of itself in one element, and the
    migration flows after it by as little."""
    sets = sample_parameters(RANGES, 5, seed=4)
    columns = [Parameter.parse(shipped.info, c) for c in sets.columns]
    base = validate(Scenario(params=ALL_LEVERS_ON), shipped.info).params
    runs = [shipped.compile(None, final_time=2010, members_per_pass=m).run_sets(base, columns, sets.to_numpy())[0]
            for m in (2, 5)]
    assert runs[0].keys() == runs[1].keys() and len(runs[0]) > 200
    worst = {name: rel_diff(runs[0][name], runs[1][name]) for name in runs[0]}
    assert max(worst.values()) <= 1e-13, {n: w for n, w in worst.items() if w > 1e-13}
    assert sum(w == 0 for w in worst.values()) > 0.9 * len(worst)  # nearly every variable bit for bit
    with pytest.raises(SDModelError, match="members_per_pass"):
        shipped.compile(["GDP"], members_per_pass=0)


def test_code_is_emitted_identically_from_several_threads_at_once(shipped):
    """Emission parses code with :mod:`ast` in several stages; in CPython 3.11 ``ast.parse`` in
    two threads at once can fail ("AST constructor recursion depth mismatch", seen under a
    two-thread Dask cluster), so ``emit_source`` holds one lock: every thread gets the source one
    thread alone gets."""
    from concurrent.futures import ThreadPoolExecutor

    alone = shipped.compile(["GDP"]).source
    with ThreadPoolExecutor(4) as pool:
        sources = list(pool.map(lambda _: shipped.compile(["GDP"]).source, range(8)))
    assert all(s == alone for s in sources)


def test_code_is_the_same_text_whatever_the_hash_seed():
    """The generated source must not depend on the order Python happens to iterate a set in
    (which ``PYTHONHASHSEED`` changes from process to process): the same model, outputs and time
    settings give the same text in every process, so that the code of two runs can be compared by its hash.
    Every variable is requested so that every part of the code (setup, block, loop, post) is made."""
    script = ("import hashlib, sys; from sd_model.batch import BatchModel; "
              "src = BatchModel(sys.argv[1]).compile().source; print(hashlib.sha256(src.encode()).hexdigest())")
    hashes = set()
    for seed in ("0", "1", "12345"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        out = subprocess.run([sys.executable, "-c", script, str(DEFAULT_MODEL)], env=env, check=True,
                             capture_output=True, text=True, cwd=Path(__file__).resolve().parent.parent)
        hashes.add(out.stdout.strip())
    assert len(hashes) == 1, hashes
