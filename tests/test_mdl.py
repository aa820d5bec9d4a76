"""Tests of the Vensim .mdl metadata parser (sd_model.mdl), checked against the files' own text."""
from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from sd_model.errors import ModelFileError, UnknownNameError
from sd_model.mdl import ModelInfo, read_model_info, set_constants

TOY = Path(__file__).parent / "models" / "toy_two_region.mdl"
TOY_LINES = TOY.read_text(encoding="utf-8").splitlines()

CONTROL = """
********************************************************
	.Control
********************************************************~
		Simulation Control Parameters
	|

INITIAL TIME = 0
	~	Year
	~	Start.
	|

FINAL TIME = 10
	~	Year
	~	End.
	|

TIME STEP = 0.5
	~	Year [0,?]
	~	Step.
	|

SAVEPER = TIME STEP
	~	Year [0,?]
	~	Output interval.
	|
"""


def line_of(prefix: str) -> int:
    """1-based number of the first toy-file line that starts with ``prefix``."""
    return next(i for i, text in enumerate(TOY_LINES, 1) if text.startswith(prefix))


@pytest.fixture(scope="module")
def info() -> ModelInfo:
    return read_model_info(TOY)


def write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "m.mdl"
    path.write_text("{UTF-8}\n" + body + CONTROL, encoding="utf-8")
    return path


def test_file_identity_and_time_settings(info: ModelInfo) -> None:
    assert info.path == TOY
    assert info.sha256 == hashlib.sha256(TOY.read_bytes()).hexdigest()
    assert "FINAL TIME  = 2020" in TOY_LINES and "INITIAL TIME  = 2000" in TOY_LINES
    assert "TIME STEP  = 0.25" in TOY_LINES and "SAVEPER  = 1" in TOY_LINES
    assert (info.initial_time, info.final_time, info.time_step, info.saveper) == (2000, 2020, 0.25, 1)
    assert not info.saveper_is_time_step
    assert not {"FINAL TIME", "INITIAL TIME", "TIME STEP", "SAVEPER"} & set(info.variables)


def test_subscripts_and_alias(info: ModelInfo) -> None:
    assert TOY_LINES[line_of("Region:")] == "\tEast, West"
    assert "Dest <-> Region" in TOY_LINES
    assert info.subscripts == {"Region": ("East", "West"), "Dest": ("East", "West")}


def test_variable_names_are_as_written_and_lines_match(info: ModelInfo) -> None:
    assert len(info.variables) == 23  # 24 definition blocks; Base Productivity has two (East, West)
    for name, var in info.variables.items():
        assert TOY_LINES[var.line - 1].startswith(name), name
    assert info.get("Capital").line == line_of("Capital[Region]= INTEG (")
    assert info.get("Base Productivity").line == line_of("Base Productivity[East]=")
    assert info.get("Credit Policy").line == line_of("Credit Policy(")


def test_units_range_and_comment(info: ModelInfo) -> None:
    capital = info.get("Capital")
    assert TOY_LINES[capital.line + 2] == "\t~\tYuan [0,?]"
    assert (capital.units, capital.range) == ("Yuan", (0.0, None))
    assert capital.comment == "Capital stock of each region."
    rate = info.get("Population Growth Rate")
    assert (rate.units, rate.range) == ("1/Year", (-0.05, 0.05))
    assert info.get("Net Credit Inflow").range == (None, None)
    assert info.get("Savings Rate").range == (0.0, 0.5)
    # a comment continued with a backslash, whitespace normalised
    assert info.get("Investment").comment == (
        "Gross investment: domestic savings plus net credit received from the other region.")


def test_dims(info: ModelInfo) -> None:
    assert info.get("Capital").dims == ("Region",)
    assert info.get("Credit Flow").dims == ("Region", "Dest")
    assert info.get("Credit Inflow").dims == ("Dest",)
    assert info.get("Base Productivity").dims == ("Region",)  # defined per element
    assert info.get("Total Output").dims == ()


def test_kinds(info: ModelInfo) -> None:
    assert set(info.stocks()) == {"Capital", "Population"}
    assert set(info.constants()) == {
        "Initial Capital", "Savings Rate", "Policy Boost", "Policy Start Year", "Depreciation Rate",
        "Base Productivity", "Credit Share", "Initial Population", "Population Growth Rate"}
    assert info.get("Credit Policy").kind == "lookup"
    assert info.get("Effective Savings Rate").kind == "auxiliary"
    assert info.get("Effective Savings Rate").equation.startswith("IF THEN ELSE(Time >= Policy Start Year")


def test_defaults(info: ModelInfo) -> None:
    assert info.get("Savings Rate").default == 0.2
    assert info.get("Initial Capital").default == {"East": 100.0, "West": 50.0}
    assert info.get("Base Productivity").default == {"East": 0.3, "West": 0.25}
    assert info.get("Credit Share").default == {
        "East,East": 0.0, "East,West": 0.1, "West,East": 0.05, "West,West": 0.0}
    assert info.get("Capital").default is None and info.get("Credit Policy").default is None


@pytest.mark.parametrize("spelling", ["Savings Rate", "savings_rate", "SAVINGS RATE", " savings  rate "])
def test_get_is_case_space_and_underscore_insensitive(info: ModelInfo, spelling: str) -> None:
    assert info.get(spelling).name == "Savings Rate"


def test_get_unknown_suggests_close_match(info: ModelInfo) -> None:
    with pytest.raises(UnknownNameError, match="did you mean 'Savings Rate'"):
        info.get("Savings Rat")


def test_missing_file_names_path(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.mdl"
    with pytest.raises(ModelFileError, match="nowhere.mdl"):
        read_model_info(missing)


def test_malformed_block_names_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, "a = 1\n\t~\tDmnl\n\t~\tfine.\n\t|\n\nb = a * 2\n\t|\n")
    with pytest.raises(ModelFileError, match=r"m\.mdl:7: malformed block"):
        read_model_info(path)


def test_sketch_continuation_per_element_lookup_and_saveper(tmp_path: Path) -> None:
    body = """Sector: A, B, C
\t~\t
\t~\t|

Long Name\\
\t\tSplit[Sector] = 1, \\
\t\t2, 3
\t~\tWidget [1,?]
\t~\tA name and a list broken over lines.
\t|

Tab[A]( [(0,0)-(10,1)],(0,0),(10,1) ) ~~|
Tab[B]( [(0,0)-(10,1)],(0,1),(10,0) ) ~~|
Tab[C]( [(0,0)-(10,1)],(0,0.5),(10,0.5) )
\t~\tDmnl
\t~\tOne table per element.
\t|

Mixed[A] = 1 ~~|
Mixed[Sector] :EXCEPT: [A] = Time
\t~\tDmnl
\t~\t
\t|
"""
    path = write(tmp_path, body)
    path.write_text(path.read_text() + "\\\\\\---/// Sketch information\n10,1,x|y,1\n|broken\n")
    info = read_model_info(path)
    long = info.get("long name split")
    assert (long.name, long.kind, long.line) == ("Long Name Split", "constant", 6)
    assert long.default == {"A": 1.0, "B": 2.0, "C": 3.0}
    assert (long.units, long.range) == ("Widget", (1.0, None))
    tab = info.get("Tab")
    assert (tab.kind, tab.dims, tab.default) == ("lookup", ("Sector",), None)
    mixed = info.get("Mixed")
    assert (mixed.kind, mixed.dims, mixed.default) == ("auxiliary", ("Sector",), None)
    assert info.saveper_is_time_step and info.saveper == info.time_step == 0.5
    assert (info.initial_time, info.final_time) == (0, 10)


# ---------------------------------------------------------------- writing constants


def _own_numbers(info: ModelInfo) -> dict[str, dict[str, str]]:
    return {name: ({k: repr(x) for k, x in var.default.items()} if isinstance(var.default, dict)
                   else {"": repr(var.default)}) for name, var in info.constants().items()}


def test_set_constants_writes_only_changed_numbers():
    text = TOY.read_text(encoding="utf-8")
    same, log = set_constants(text, _own_numbers(read_model_info(TOY)))
    assert same == text and log == []
    new, log = set_constants(text, {"savings rate": {"": "0.25"}, "Base Productivity": {"West": "0.3"}})
    assert log == ["Savings Rate: 0.2 -> 0.25", "Base Productivity[West]: 0.25 -> 0.3"]
    old_lines, new_lines = text.splitlines(), new.splitlines()
    assert len(new_lines) == len(old_lines)
    changed = {i + 1: b for i, (a, b) in enumerate(zip(old_lines, new_lines)) if a != b}
    assert changed == {40: "\t0.25", 78: "\t0.3"}  # the lines of the two numbers (toy_two_region.mdl)


def test_set_constants_refuses_what_it_cannot_write():
    text = TOY.read_text(encoding="utf-8")
    with pytest.raises(ModelFileError, match=r"'Output' is not a constant"):
        set_constants(text, {"Output": {"East": "1"}})
    with pytest.raises(ModelFileError, match=r"no definition of 'Base Productivity' sets \['North'\]"):
        set_constants(text, {"Base Productivity": {"North": "1"}})
