"""Release of the time loop's arrays after their last reader (sd_model.batch.lifetimes)."""
from __future__ import annotations

import numpy as np

import sd_model.batch.emit as emit
from sd_model.batch import BatchModel
from sd_model.batch.lifetimes import release_dead
from sd_model.run import DEFAULT_MODEL


def test_each_name_is_released_after_its_last_reader():
    units = [["a = x * 2.0"], ["b = a + 1.0"], ["c = a * b"],
             ["if k % 2 == 0:", "    saved.append(c)"], ["out[...] = c - x"]]
    lines = release_dead(units, {"a", "b", "c"}, "")
    assert lines == ["a = x * 2.0", "b = a + 1.0", "c = a * b", "del a, b",
                     "if k % 2 == 0:", "    saved.append(c)", "out[...] = c - x", "del c"]
    x = np.arange(4.0)
    plain = {"x": x, "k": 0, "saved": [], "out": np.empty(4)}
    released = {"x": x, "k": 0, "saved": [], "out": np.empty(4)}
    exec("\n".join(line for unit in units for line in unit), plain)  # noqa: S102
    exec("\n".join(lines), released)  # noqa: S102
    np.testing.assert_array_equal(released["out"], plain["out"])
    assert "a" not in released and "c" not in released and "x" in released  # x is not the body's


def test_names_never_read_and_names_not_assigned_are_left_alone():
    units = [["a = x + 1.0"], ["b = y * 2.0"], ["out[...] = b"]]
    assert release_dead(units, {"a", "b"}, "    ") == ["a = x + 1.0", "b = y * 2.0", "out[...] = b", "    del b"]


def test_shipped_model_releases_its_arrays_with_the_same_values_bit_for_bit(monkeypatch):
    batch = BatchModel(DEFAULT_MODEL)
    # the generic code, emitted here: code folded for a call's zero constants is emitted at the call
    on = batch.compile(None, final_time=2030, fold_zeros=False)
    monkeypatch.setattr(emit, "release_dead", lambda units, assigned, indent: [line for u in units for line in u])
    off = batch.compile(None, final_time=2030, fold_zeros=False)
    released = sum(len(line.split("del ", 1)[1].split(",")) for line in on.source.splitlines()
                   if line.strip().startswith("del "))
    assert released >= 100 and "del " not in off.source
    a, b = on.run_constants(on.constants(3), 3), off.run_constants(off.constants(3), 3)
    for name in a:
        np.testing.assert_array_equal(a[name], b[name])
