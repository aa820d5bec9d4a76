"""Loops That Matter scores computed by sd_model.structure (link_scores, pinned) against hand calculations.

The test model (tests/models/ltm_population.mdl) is one stock with three loops:
births (R), crowding (B: population -> crowding -> births) and deaths (B). Its Euler recurrence is
written out here, independently of the code under test.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from cli import main
from sd_model.errors import SDModelError
from sd_model.structure.link_scores import LinkScorer
from sd_model.structure.loops import NamedLoop, analyze_loops, load_named_loops
from sd_model.structure.pinned import resolve_named

ROOT = Path(__file__).resolve().parent.parent
POP = ROOT / "tests" / "models" / "ltm_population.mdl"
TOY = ROOT / "tests" / "models" / "toy_two_region.mdl"
LOOPS = """
[[loop]]
name = "Births"
polarity = "R"
variables = ["Population", "Births"]

[[loop]]
name = "Crowding"
polarity = "B"
variables = ["Population", "Crowding", "Births"]

[[loop]]
name = "Deaths"
polarity = "B"
variables = ["Population", "Deaths"]
"""


def _hand(b=0.1, d=0.02, cap=1000.0, p0=100.0, dt=0.25, steps=80):
    """Euler run of the model: population, crowding, births, deaths at every step."""
    p = [p0]
    for _ in range(steps):
        c = 1 - p[-1] / cap
        p.append(p[-1] + dt * (b * p[-1] * c - d * p[-1]))
    p = np.array(p)
    c = 1 - p / cap
    return p, c, b * p * c, d * p


def _ls(part, dz, dx):
    return 0.0 if dz == 0 or dx == 0 else abs(part / dz) * np.sign(part / dx)


def test_link_and_loop_scores_match_the_hand_calculation():
    s = LinkScorer(POP)
    p, c, births, deaths = _hand()
    b = 0.1
    pop, bir, cro, dea = ("Population", ()), ("Births", ()), ("Crowding", ()), ("Deaths", ())
    for k in (1, 2, 17, 40, 79):  # the score over [t(k-1), t(k)] is labelled t(k) = times[k - 1]
        assert s.times[k - 1] == pytest.approx(0.25 * k)
        net, net0 = births[k] - deaths[k], births[k - 1] - deaths[k - 1]
        want = {
            (pop, bir): _ls(b * p[k] * c[k - 1] - births[k - 1], births[k] - births[k - 1], p[k] - p[k - 1]),
            (cro, bir): _ls(b * p[k - 1] * c[k] - births[k - 1], births[k] - births[k - 1], c[k] - c[k - 1]),
            (pop, cro): -1.0,
            (pop, dea): 1.0,
            (bir, pop): abs((births[k] - births[k - 1]) / (net - net0)),   # flow to stock (2023 form)
            (dea, pop): -abs((deaths[k] - deaths[k - 1]) / (net - net0)),
        }
        for (src, dst), value in want.items():
            assert s.link_score(src, dst)[k - 1] == pytest.approx(value, rel=1e-9), (src, dst, k)
        r, bc, bd = (want[(pop, bir)] * want[(bir, pop)], want[(pop, cro)] * want[(cro, bir)] * want[(bir, pop)],
                     want[(pop, dea)] * want[(dea, pop)])
        assert s.loop_score((pop, bir))[k - 1] == pytest.approx(r, rel=1e-9)
        assert s.loop_score((pop, cro, bir))[k - 1] == pytest.approx(bc, rel=1e-9)
        assert s.loop_score((pop, dea))[k - 1] == pytest.approx(bd, rel=1e-9)


def test_named_loops_scored_like_simlin_on_a_small_model(tmp_path):
    loops = tmp_path / "loops.toml"
    loops.write_text(LOOPS)
    a = analyze_loops(POP, loops_file=loops, start=1, end=20)
    assert [n.name for n in a.named] == ["Births", "Crowding", "Deaths"]
    assert all(n.variants == n.active == 1 for n in a.named)
    assert [n.polarity[0] for n in a.named] == ["R", "B", "B"]
    # every loop is in Simlin's exhaustive set: ours equal Simlin's relative scores at whole years
    assert len(a.rows) == 3 and {r.named for r in a.rows} == {"Births", "Crowding", "Deaths"}
    for r in a.rows:
        assert r.simlin_max_diff < 1e-9
        assert r.agreement != r.agreement or r.agreement == pytest.approx(1.0, abs=1e-9)  # NaN: constant score
        assert r.importance == pytest.approx(r.simlin_importance, rel=0.05)  # ours: every step, Simlin's: years
    total = sum(abs(a.series[r.id]) for r in a.rows)
    assert np.allclose(total[a.times >= 1], 1.0)
    p, c, births, deaths = _hand()
    k = 40  # relative births-loop score by hand: R / (|R| + |Bc| + |Bd|)
    net, net0 = births[k] - deaths[k], births[k - 1] - deaths[k - 1]
    lbp = abs((births[k] - births[k - 1]) / (net - net0))
    r = _ls(0.1 * p[k] * c[k - 1] - births[k - 1], births[k] - births[k - 1], p[k] - p[k - 1]) * lbp
    bc = -_ls(0.1 * p[k - 1] * c[k] - births[k - 1], births[k] - births[k - 1], c[k] - c[k - 1]) * lbp
    bd = -abs((deaths[k] - deaths[k - 1]) / (net - net0))
    births_loop = next(n for n in a.named if n.name == "Births")
    assert births_loop.signed_series[k - 1] == pytest.approx(r / (abs(r) + abs(bc) + abs(bd)), rel=1e-9)


def test_named_loop_variants_per_element_and_across_regions():
    s = LinkScorer(TOY)
    nl = NamedLoop("Credit drain", "B", "", ("Capital", "Output", "Credit Flow", "Credit Outflow",
                                               "Net Credit Inflow", "Investment"))
    vs = resolve_named(s, [nl])["Credit drain"]
    # per region, Credit Flow[r, East] and [r, West] both feed Credit Outflow[r]: 2 x 2 variants
    assert len(vs) == 4
    labels = {tuple(s.label(n) for n in v.nodes) for v in vs}
    assert ("Capital[East]", "Output[East]", "Credit Flow[East,West]", "Credit Outflow[East]",
            "Net Credit Inflow[East]", "Investment[East]") in labels
    assert {v.region for v in vs} == {"East", "West", "cross-region"}
    scores = {tuple(s.label(n) for n in v.nodes)[2]: s.loop_score(v.nodes) for v in vs}
    assert not np.any(scores["Credit Flow[East,East]"])  # zero credit share: the link never changes
    assert np.all(scores["Credit Flow[East,West]"][4:] <= 0) and np.any(scores["Credit Flow[East,West]"])


@pytest.mark.parametrize("variables, message", [
    (["Population", "Birthz"], "unknown variable 'Birthz'"),
    (["Population", "Deaths", "Births"], "no link 'Deaths' -> 'Births'"),
    (["Births", "Crowding"], "no link 'Births' -> 'Crowding'"),
    (["Birth Rate", "Births"], "'Birth Rate' does not change"),
])
def test_bad_named_loop_is_a_clear_error(tmp_path, variables, message):
    loops = tmp_path / "loops.toml"
    loops.write_text(f'[[loop]]\nname = "Broken"\npolarity = "B"\nvariables = {variables!r}\n'.replace("'", '"'))
    r = CliRunner().invoke(main, ["loops", "--model", str(POP), "--loops", str(loops), "--out", str(tmp_path / "o")])
    assert r.exit_code == 2, r.output
    assert "loop 'Broken'" in r.output and message in r.output and "Traceback" not in r.output
    with pytest.raises(SDModelError, match="shortest chain is Births -> Population -> Crowding"):
        resolve_named(LinkScorer(POP), [load_named_loops(_write(tmp_path, ["Births", "Crowding"]))[0]])


def _write(tmp_path: Path, variables: list[str]) -> Path:
    path = tmp_path / "two.toml"
    path.write_text('[[loop]]\nname = "Two"\npolarity = "R"\nvariables = ' + str(variables).replace("'", '"') + "\n")
    return path


def test_loops_file_needs_polarity_and_variables(tmp_path):
    path = tmp_path / "l.toml"
    path.write_text('[[loop]]\nname = "X"\npolarity = "Q"\nvariables = ["Population", "Births"]\n')
    with pytest.raises(SDModelError, match="polarity must be"):
        load_named_loops(path)
    path.write_text('[[loop]]\nname = "X"\npolarity = "R"\nvariables = ["Population"]\n')
    with pytest.raises(SDModelError, match="at least two"):
        load_named_loops(path)


def test_missing_or_malformed_loops_file_exits_2(tmp_path):
    runner = CliRunner()
    bad = tmp_path / "bad.toml"
    bad.write_text("[[loop]\nname = ")
    for path, text in ((tmp_path / "nope.toml", "loops file not found"), (bad, "cannot read the loops file")):
        r = runner.invoke(main, ["loops", "--model", str(POP), "--loops", str(path), "--out", str(tmp_path / "o")])
        assert r.exit_code == 2 and text in r.output and "Traceback" not in r.output, r.output


def test_several_loops_files_score_as_one_file_holding_them_all(tmp_path):
    # the births loop in one file, crowding and deaths in another: one analysis scores the three,
    # in the files' order, exactly as the single file of all three does (the same normalisation)
    one = tmp_path / "all.toml"
    one.write_text(LOOPS)
    births, rest = LOOPS.split("[[loop]]", 2)[1], "[[loop]]" + "[[loop]]".join(LOOPS.split("[[loop]]")[2:])
    first, second = tmp_path / "births.toml", tmp_path / "rest.toml"
    first.write_text("[[loop]]" + births)
    second.write_text(rest)
    whole = analyze_loops(POP, loops_file=one, start=1, end=20)
    split = analyze_loops(POP, loops_file=[first, second], start=1, end=20)
    assert [n.name for n in split.named] == ["Births", "Crowding", "Deaths"]
    for a, b in zip(whole.named, split.named):
        np.testing.assert_array_equal(a.signed_series, b.signed_series)
        assert a.polarity == b.polarity


def test_a_loop_name_in_two_loops_files_is_a_clear_error(tmp_path):
    a, b = tmp_path / "a.toml", tmp_path / "b.toml"
    a.write_text(LOOPS)
    b.write_text('[[loop]]\nname = "Deaths"\npolarity = "B"\nvariables = ["Population", "Deaths"]\n')
    r = CliRunner().invoke(main, ["loops", "--model", str(POP), "--loops", str(a), "--loops", str(b),
                                  "--out", str(tmp_path / "o")])
    assert r.exit_code == 2, r.output
    assert "b.toml" in r.output and "'Deaths' is also named in" in r.output and "Traceback" not in r.output
    assert not (tmp_path / "o").exists()
