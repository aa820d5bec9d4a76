"""Tests of sd_model.partition: a region split into identical parts, and whether the model notices the split."""
from __future__ import annotations

from pathlib import Path

import pytest

from sd_model.engines import get_engine
from sd_model.errors import ModelFileError
from sd_model.mdl import read_model_info
from sd_model.partition import invariance_table, size_exponent, split_region, write_split
from sd_model.run import DEFAULT_MODEL

TOY = Path(__file__).parent / "models" / "market_access_three_region.mdl"


@pytest.mark.parametrize("units, exponent", [
    ("billion_yuan/Year", 1), ("billion_yuan", 1), ("million_persons", 1), ("km2/Year", 1),
    ("billion_yuan/million_persons/Year", 0), ("km2/million_persons", 0), ("dmnl", 0), ("1/Year", 0),
    ("Mm", 0), ("billion_yuan*billion_yuan", 2), ("1/million_persons", -1)])
def test_size_exponent(units, exponent):
    assert size_exponent(units) == exponent


def test_split_divides_extensive_constants_and_copies_the_rest(tmp_path):
    split = write_split(TOY, "North", 3, tmp_path / "split.mdl")
    whole, parts = read_model_info(TOY), read_model_info(tmp_path / "split.mdl")
    assert parts.subscripts["Region"] == ("North", "North Part 2", "North Part 3", "South", "West")
    assert split.parts == ("North", "North Part 2", "North Part 3")
    for name in ("Initial Capital", "Initial Population"):  # billion_yuan, million_persons: divided by 3
        old, new = whole.get(name).default, parts.get(name).default
        assert new["North Part 2"] == pytest.approx(old["North"] / 3, rel=1e-15)
        assert new["South"] == old["South"]
    old, new = whole.get("Productivity").default, parts.get("Productivity").default  # per person: copied
    assert all(new[p] == old["North"] for p in split.parts)
    distance = parts.get("Distance").default
    assert distance["North,North Part 3"] == whole.get("Distance").default["North,North"] == 0.3
    assert distance["North Part 2,West"] == distance["West,North Part 3"] == 2.0
    assert split.divided == ("Initial Capital", "Initial Population")


def test_split_of_the_shipped_model_keeps_identities_and_divides_national_shares(tmp_path):
    whole = read_model_info(DEFAULT_MODEL)
    write_split(DEFAULT_MODEL, "East", 2, tmp_path / "split.mdl")
    parts = read_model_info(tmp_path / "split.mdl")
    same = parts.get("Same Region").default
    assert same["East,East Part 2"] == 0 and same["East Part 2,East Part 2"] == 1
    # shares of a national total (they sum to 1 over the regions) are divided; flags are copied
    assert parts.get("Listed Firm Share").default["East Part 2"] == whole.get("Listed Firm Share").default["East"] / 2
    assert parts.get("Lagging Region Flag").default["East Part 2"] == 0
    assert sum(parts.get("Protected Land Share").default.values()) == pytest.approx(1, abs=1e-12)


def test_bad_split_requests_are_refused(tmp_path):
    text = TOY.read_text(encoding="utf-8")
    with pytest.raises(ModelFileError, match="not an element of the Region range.*North, South, West"):
        split_region(text, "East", 2, TOY)
    with pytest.raises(ModelFileError, match="at least 2 parts"):
        split_region(text, "North", 1, TOY)
    (tmp_path / "exists.mdl").write_text("x", encoding="utf-8")
    with pytest.raises(ModelFileError, match="exists"):
        write_split(TOY, "North", 2, tmp_path / "exists.mdl")


@pytest.mark.parametrize("engine", ["simlin", "pysd"])
def test_market_potential_over_distances_does_not_notice_the_split(tmp_path, engine):
    """Positive control: with market potential over distances (Harris 1954) and constant returns, the three parts
    of North together are North: every extensive variable sums, every intensive one equals it."""
    split = write_split(TOY, "North", 3, tmp_path / "split.mdl")
    whole = get_engine(engine, TOY).run({"Own Share Form": 0})
    parts = get_engine(engine, tmp_path / "split.mdl").run({"Own Share Form": 0})
    rows = invariance_table(whole, parts, split)
    kinds = {r["variable"]: r["kind"] for r in rows}
    assert kinds["Capital"] == kinds["Output"] == "extensive" and kinds["Market Access Index"] == "intensive"
    assert max(float(r["max_rel"]) for r in rows) < 1e-9, rows[:3]


def test_market_access_from_the_own_share_notices_the_split(tmp_path):
    """Negative control: market access from the region's own share of the national total (the tenth round's form)
    makes each part poorer than the whole by construction (North's share 0.5 -> 1/6 per part)."""
    split = write_split(TOY, "North", 3, tmp_path / "split.mdl")
    whole = get_engine("simlin", TOY).run({"Own Share Form": 1})
    parts = get_engine("simlin", tmp_path / "split.mdl").run({"Own Share Form": 1})
    rows = {r["variable"]: r for r in invariance_table(whole, parts, split)}
    assert rows["Market Access Index"]["kind"] == "size-dependent"
    assert rows["Market Access Index"]["first_time"] == 2000  # from the first step
    # by hand at the first step: North 300 of 600 capital; a third part holds 100 of 600
    access_whole, access_part = 0.5 + 0.3 * 0.5, 100 / 600 + 0.3 * (1 - 100 / 600)
    assert float(parts["Market Access Index"].sel(time=2000, Region="North")) == pytest.approx(access_part, rel=1e-12)
    assert float(whole["Market Access Index"].sel(time=2000, Region="North")) == pytest.approx(access_whole, rel=1e-12)
    assert float(rows["Gap Index"]["max_rel"]) > 0.1


@pytest.mark.parametrize("region", ["East", "West"])
def test_the_shipped_model_answers_the_same_when_a_region_is_split(tmp_path, region):
    """Issue 11, item 8: a finer regional split must be a data change. Splitting a region into two identical halves
    leaves the headline outcomes of 2050 within 1% (measured: at most 0.4%, from migrants moving between the two
    halves for other reasons than wages). The tenth round's market access (own output share + 0.3 x the rest) and its
    migration (every destination drawing alike, whatever its size) failed this: with the East split, the 2050
    East/West ratio fell from 1.17 to 0.86, the Theil index from 0.0084 to 0.0027, national GDP by 11%."""
    split = write_split(DEFAULT_MODEL, region, 2, tmp_path / "split.mdl")
    whole = get_engine("simlin", DEFAULT_MODEL).run(final_time=2050)
    parts = get_engine("simlin", tmp_path / "split.mdl").run(final_time=2050)
    for name in ("East West Ratio", "Theil Index", "National GDP"):
        a, b = float(parts[name].sel(time=2050)), float(whole[name].sel(time=2050))
        assert a == pytest.approx(b, rel=0.01), name
    rows = {r["variable"]: r for r in invariance_table(whole, parts, split)}
    assert rows["Market Access Index"]["kind"] == "intensive"
    assert float(rows["GDP per Capita"]["max_rel"]) < 0.01


def test_the_script_prints_each_outcome_and_refuses_an_unknown_region(capsys):
    from script_module import load_script
    module = load_script("partition_invariance")
    assert module.main(["--region", "Northeast", "--until", "2020", "--top", "2"]) == 0
    out = capsys.readouterr().out
    assert "Northeast in 2 parts:" in out and "East West Ratio: 2015" in out and "largest relative differences" in out
    assert module.main(["--region", "Mars", "--until", "2020"]) == 2
    assert "'Mars' is not an element of the Region range" in capsys.readouterr().err


def test_a_constant_given_once_for_every_region_is_written_out_per_part(tmp_path):
    text = TOY.read_text(encoding="utf-8").replace("Initial Population[Region] = 100, 80, 60",
                                                   "Initial Population[Region] = 90")
    (tmp_path / "one.mdl").write_text(text, encoding="utf-8")
    write_split(tmp_path / "one.mdl", "North", 3, tmp_path / "split.mdl")
    population = read_model_info(tmp_path / "split.mdl").get("Initial Population").default
    assert population == {"North": 30.0, "North Part 2": 30.0, "North Part 3": 30.0, "South": 90.0, "West": 90.0}
