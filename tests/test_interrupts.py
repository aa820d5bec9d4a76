"""Ctrl-C and SIGTERM around steps that must not be cut: sd_model.interrupts.interrupts_held and its users."""
from __future__ import annotations

import signal

import numpy as np
import pytest
import xarray as xr
from xarray.backends.netCDF4_ import NetCDF4DataStore

from sd_model.files import atomic_write_netcdf, load_netcdf
from sd_model.interrupts import interrupts_held


def test_a_ctrl_c_inside_the_block_waits_for_its_end():
    steps = []
    with pytest.raises(KeyboardInterrupt):
        with interrupts_held():
            signal.raise_signal(signal.SIGINT)
            steps.append("after the signal")
    assert steps == ["after the signal"]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_a_held_sigterm_goes_to_the_handler_that_was_installed(monkeypatch):
    seen = []
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: seen.append(signum))
    try:
        with interrupts_held():
            signal.raise_signal(signal.SIGTERM)
            signal.raise_signal(signal.SIGTERM)  # a second one is not delivered twice
            assert seen == []
        assert seen == [signal.SIGTERM]
    finally:
        signal.signal(signal.SIGTERM, previous)


def test_without_a_signal_nothing_happens_and_the_handlers_are_restored():
    before = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    with interrupts_held():
        value = 1 + 1
    assert value == 2
    assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == before


def _dataset() -> xr.Dataset:
    return xr.Dataset({"a": (("time",), np.arange(5.0)), "b": (("time",), np.linspace(0, 1, 5))},
                      coords={"time": np.arange(1978, 1983)}, attrs={"note": "x"})


def test_ctrl_c_in_the_middle_of_a_netcdf_write_leaves_the_whole_file_then_interrupts(tmp_path, monkeypatch):
    """The NetCDF library, cut by a KeyboardInterrupt with its lock held, made the clean-up wait for ever
    (an ensemble hung in CI); the write now finishes and the interrupt follows."""
    prepare = NetCDF4DataStore.prepare_variable  # called once per variable, the file open
    calls = []

    def interrupted(self, name, *args, **kwargs):
        if not calls:
            signal.raise_signal(signal.SIGINT)  # as a Ctrl-C reaching the process here would
        calls.append(name)
        return prepare(self, name, *args, **kwargs)

    monkeypatch.setattr(NetCDF4DataStore, "prepare_variable", interrupted)
    path = tmp_path / "chunk.nc"
    with pytest.raises(KeyboardInterrupt):
        atomic_write_netcdf(path, _dataset())
    assert len(calls) >= 2  # the write went on past the signal
    monkeypatch.setattr(NetCDF4DataStore, "prepare_variable", prepare)
    xr.testing.assert_identical(load_netcdf(path), _dataset())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["chunk.nc"]  # no temporary file left


def test_load_netcdf_reads_everything_and_closes_the_file(tmp_path):
    path = atomic_write_netcdf(tmp_path / "x.nc", _dataset())
    ds = load_netcdf(path)
    path.unlink()  # the data are in memory: nothing reads the file any more
    assert float(ds["b"].sum()) == pytest.approx(2.5)  # 0 + 0.25 + 0.5 + 0.75 + 1
