"""scripts/savings_path_variants.py: model copies that differ in one number, the summary, bad scales refused."""
from __future__ import annotations

import difflib

import pandas as pd
import pytest
from script_module import load_script

from sd_model.resources import DEFAULT_MODEL


def _module():
    return load_script("savings_path_variants")


def test_a_scale_outside_the_models_range_is_refused_before_any_run(tmp_path):
    with pytest.raises(SystemExit, match=r"Savings Decline Scale must lie in \[0, 2\]"):
        _module().main(["--scales", "1", "3", "--out", str(tmp_path / "out")])
    assert not (tmp_path / "out").exists()


def test_each_copy_changes_only_the_scale_and_the_summary_has_a_column_per_scale(tmp_path):
    out = tmp_path / "out"
    _module().main(["--scales", "0.5", "--out", str(out)])
    copy = out / "models" / f"{DEFAULT_MODEL.stem}_savings_x0.5.mdl"
    changed = [line for line in difflib.unified_diff(DEFAULT_MODEL.read_text(encoding="utf-8").splitlines(),
                                                     copy.read_text(encoding="utf-8").splitlines(), lineterm="", n=0)
               if line[:1] in "+-" and line[:3] not in ("+++", "---")]
    assert changed == ["-Savings Decline Scale = 1", "+Savings Decline Scale = 0.5"]
    table = pd.read_csv(out / "summary.csv", index_col=0)
    assert list(table.columns) == ["scale 0.5"]
    assert len(table) == len(_module().ROWS)
    assert (out / "findings" / "0.5" / "findings.csv").is_file()
    # a folder the script did not write is refused, and left as it was
    other = tmp_path / "mine"
    other.mkdir()
    (other / "notes.txt").write_text("keep")
    with pytest.raises(SystemExit, match="refusing to replace it"):
        _module().main(["--scales", "0.5", "--out", str(other)])
    assert (other / "notes.txt").read_text() == "keep"
