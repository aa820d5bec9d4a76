"""Tests of the PySD and pysimlin engines (sd_model.engines) on the toy two-region model."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from sd_model.engines import Engine, get_engine
from sd_model.engines.pysd_engine import PysdEngine
from sd_model.engines.simlin_engine import SimlinEngine
from sd_model.errors import EngineError, ModelFileError, SDModelError, UnknownNameError
from sd_model.runspec import build_spec

MODELS = Path(__file__).parent / "models"
TOY = MODELS / "toy_two_region.mdl"
OVERRIDES = {
    "savings_rate": 0.3,                                  # scalar
    "Population Growth Rate": {"west": 0.03},             # one element of a 1-D constant
    "INITIAL CAPITAL": {"East": 120.0},                   # initial value of a stock
    "Credit Share": {"West,East": 0.2, "East, West": 0.0},  # elements of a 2-D constant
}


@pytest.fixture(scope="module")
def cache(cache_dir: Path) -> Path:
    """The session's temporary translation cache (tests/conftest.py)."""
    return cache_dir


@pytest.fixture(scope="module")
def engines(cache: Path) -> dict[str, Engine]:
    return {name: get_engine(name, TOY) for name in ("pysd", "simlin")}


@pytest.fixture(scope="module")
def baseline(engines: dict[str, Engine]) -> dict[str, xr.Dataset]:
    return {name: engine.run() for name, engine in engines.items()}


def assert_same(a: xr.Dataset, b: xr.Dataset, rtol: float = 1e-9) -> None:
    """Same names, dims and coords; values equal to ``rtol`` relative at every time."""
    assert list(a.data_vars) == list(b.data_vars)
    assert a.sizes == b.sizes and list(a.coords) == list(b.coords)
    for coord in a.coords:
        np.testing.assert_array_equal(a[coord].values, b[coord].values)
    for name in a.data_vars:
        assert a[name].dims == b[name].dims, name
        x, y = a[name].values, b[name].values
        rel = np.abs(x - y) / np.maximum(np.maximum(np.abs(x), np.abs(y)), 1e-6)
        assert rel.max() <= rtol, (name, rel.max())


def euler_population(p0: float, rate: float, dt: float, years: np.ndarray) -> np.ndarray:
    """Population[r] = INTEG(Population[r] * rate, p0), stepped by hand with Euler."""
    out, pop, t, k = [], p0, years[0], 0
    while k < len(years):
        if abs(t - years[k]) < 1e-9:
            out.append(pop)
            k += 1
        pop += dt * pop * rate
        t += dt
    return np.array(out)


def test_get_engine_types(engines: dict[str, Engine]) -> None:
    assert isinstance(engines["pysd"], PysdEngine) and engines["pysd"].name == "pysd"
    assert isinstance(engines["simlin"], SimlinEngine) and engines["simlin"].name == "simlin"


def test_dataset_structure(baseline: dict[str, xr.Dataset]) -> None:
    ds = baseline["pysd"]
    assert "Credit Policy" not in ds  # lookup tables are not time series
    assert len(ds.data_vars) == 22 and "GDP per Capita" in ds
    np.testing.assert_array_equal(ds["time"].values, np.arange(2000.0, 2021.0))
    assert list(ds["Region"].values) == ["East", "West"] and list(ds["Dest"].values) == ["East", "West"]
    assert ds["Capital"].dims == ("time", "Region")
    assert ds["Credit Flow"].dims == ("time", "Region", "Dest")
    assert ds["Credit Inflow"].dims == ("time", "Dest")
    assert ds["Total Output"].dims == ("time",)
    assert ds["Capital"].attrs["units"] == "Yuan"
    np.testing.assert_array_equal(ds["Savings Rate"].values, 0.2)  # constants broadcast over time
    np.testing.assert_array_equal(ds["Credit Share"].sel(Region="West", Dest="East").values, 0.05)


def test_engines_agree_on_baseline(baseline: dict[str, xr.Dataset]) -> None:
    assert_same(baseline["pysd"], baseline["simlin"])


def test_sums_both_ways(baseline: dict[str, xr.Dataset]) -> None:
    ds = baseline["simlin"]
    flow = ds["Credit Flow"]
    np.testing.assert_allclose(ds["Credit Outflow"].values, flow.sum("Dest").values, rtol=1e-12)
    np.testing.assert_allclose(ds["Credit Inflow"].values, flow.sum("Region").values, rtol=1e-12)


def test_population_matches_hand_euler(baseline: dict[str, xr.Dataset]) -> None:
    years = np.arange(2000.0, 2021.0)
    for engine, ds in baseline.items():
        for region, p0, rate in (("East", 400.0, 0.01), ("West", 250.0, 0.02)):
            expected = euler_population(p0, rate, 0.25, years)
            np.testing.assert_allclose(ds["Population"].sel(Region=region).values, expected, rtol=1e-12,
                                       err_msg=f"{engine} {region}")
    # closed form of the same Euler recursion: p0 * (1 + rate*dt)^(steps)
    assert baseline["pysd"]["Population"].sel(Region="East", time=2020.0) == pytest.approx(
        400.0 * (1 + 0.01 * 0.25) ** 80, rel=1e-12)


def test_overrides_take_effect_identically(engines: dict[str, Engine],
                                           baseline: dict[str, xr.Dataset]) -> None:
    runs = {name: engine.run(OVERRIDES) for name, engine in engines.items()}
    assert_same(runs["pysd"], runs["simlin"])
    ds = runs["pysd"]
    np.testing.assert_array_equal(ds["Savings Rate"].values, 0.3)
    np.testing.assert_array_equal(ds["Capital"].isel(time=0).values, [120.0, 50.0])
    np.testing.assert_array_equal(ds["Population Growth Rate"].isel(time=-1).values, [0.01, 0.03])
    np.testing.assert_array_equal(ds["Credit Share"].isel(time=0).values, [[0.0, 0.0], [0.2, 0.0]])
    years = ds["time"].values
    np.testing.assert_allclose(ds["Population"].sel(Region="West").values,
                               euler_population(250.0, 0.03, 0.25, years), rtol=1e-12)
    np.testing.assert_allclose(ds["Population"].sel(Region="East").values,
                               baseline["pysd"]["Population"].sel(Region="East").values, rtol=0)
    assert not np.allclose(ds["Capital"].values, baseline["pysd"]["Capital"].values)


def test_overrides_do_not_persist(engines: dict[str, Engine], baseline: dict[str, xr.Dataset]) -> None:
    for name, engine in engines.items():
        engine.run(OVERRIDES)
        assert_same(engine.run(), baseline[name], rtol=0)


def test_time_settings_and_outputs(engines: dict[str, Engine]) -> None:
    runs = {name: e.run({"Initial Population": {"East": 500.0}}, final_time=2010, time_step=0.125,
                        outputs=["population", "Total Output", "population"])
            for name, e in engines.items()}
    assert_same(runs["pysd"], runs["simlin"])
    ds = runs["simlin"]
    assert list(ds.data_vars) == ["Population", "Total Output"]
    years = np.arange(2000.0, 2011.0)
    np.testing.assert_array_equal(ds["time"].values, years)
    np.testing.assert_allclose(ds["Population"].sel(Region="East").values,
                               euler_population(500.0, 0.01, 0.125, years), rtol=1e-12)


def test_every_step_saved_at_a_step_that_overshoots_final_time(tmp_path: Path, cache: Path) -> None:
    """TIME STEP 1/18 written to 16 digits, saved every step: 20 years hold 360 steps, 361 points.

    pysimlin's clock adds the step 360 times and ends 2e-11 past FINAL TIME; before session 33 it then
    dropped the last point and the run failed ("saved 360 time points, expected 361").
    """
    text = TOY.read_text(encoding="utf-8")
    text = text.replace("SAVEPER  = 1\n", "SAVEPER  = TIME STEP\n").replace(
        "TIME STEP  = 0.25\n", "TIME STEP  = 0.0555555555555556\n")
    path = tmp_path / "toy_eighteenth.mdl"
    path.write_text(text, encoding="utf-8")
    runs = {name: get_engine(name, path).run(outputs=["Population"]) for name in ("pysd", "simlin")}
    assert runs["simlin"].sizes["time"] == 361
    np.testing.assert_allclose(runs["simlin"]["time"].values, 2000.0 + np.arange(361) / 18, rtol=0, atol=1e-9)
    assert_same(runs["pysd"], runs["simlin"])
    np.testing.assert_allclose(runs["simlin"]["Population"].sel(Region="East").values[::18],
                               euler_population(float(runs["simlin"]["Population"].sel(Region="East")[0]),
                                                0.01, 1 / 18, np.arange(2000.0, 2021.0)), rtol=1e-9)


@pytest.mark.parametrize("engine", ["pysd", "simlin"])
def test_run_that_is_not_a_whole_number_of_steps_is_refused(engines: dict[str, Engine], engine: str) -> None:
    """2000-2010.1 at 0.25 is 40.4 steps; such runs ended differently (20 years at 0.3 saved every step:
    PySD saved 68 points, pysimlin 67 ending at 2019.8)."""
    with pytest.raises(SDModelError, match=r"2000 to final_time 2010.1 is 40.4 steps of time_step 0.25, not a whole"):
        engines[engine].run(final_time=2010.1)
    assert engines[engine].run(final_time=2010.25, time_step=0.25, outputs=["Population"]).sizes["time"] == 11


def test_simlin_runner_matches_run_and_resets(engines: dict[str, Engine],
                                              baseline: dict[str, xr.Dataset]) -> None:
    simlin = engines["simlin"]
    assert isinstance(simlin, SimlinEngine)
    spec = build_spec(simlin.info, OVERRIDES, outputs=["Capital", "Credit Flow", "Total Output"])
    runner = simlin.runner(spec)  # one reused Sim: the second run must not keep the first run's values
    changed, again = (runner.run_sets(params, [], np.empty((1, 0)))[0] for params in (spec.params, {}))
    reference = simlin.run(OVERRIDES)
    for name in ("Capital", "Credit Flow", "Total Output"):
        np.testing.assert_array_equal(changed[name][0], reference[name].values)
        np.testing.assert_array_equal(again[name][0], baseline["simlin"][name].values)


def test_translation_goes_to_cache_not_source_tree(engines: dict[str, Engine], cache: Path) -> None:
    pysd_engine = engines["pysd"]
    assert isinstance(pysd_engine, PysdEngine)
    target = cache / pysd_engine.info.sha256
    assert pysd_engine.py_path == target / "model.py" and (target / "model.mdl").read_bytes() == TOY.read_bytes()
    assert not [p.name for p in MODELS.iterdir() if p.suffix not in (".mdl", ".md", ".toml")]  # no .py beside the .mdl
    mtime = pysd_engine.py_path.stat().st_mtime_ns
    assert PysdEngine(TOY).py_path.stat().st_mtime_ns == mtime  # reused, not translated again


@pytest.mark.parametrize("engine", ["pysd", "simlin"])
def test_unknown_parameter_suggests_match(engines: dict[str, Engine], engine: str) -> None:
    with pytest.raises(UnknownNameError, match="did you mean 'Savings Rate'"):
        engines[engine].run({"Savings Rat": 0.3})
    with pytest.raises(UnknownNameError, match="did you mean 'East'"):
        engines[engine].run({"Initial Capital": {"Eats": 1.0}})


@pytest.mark.parametrize("engine", ["pysd", "simlin"])
def test_overriding_stock_or_auxiliary_is_refused(engines: dict[str, Engine], engine: str) -> None:
    with pytest.raises(SDModelError, match=r"'Capital'.*not a constant.*'Initial Capital'"):
        engines[engine].run({"Capital": {"East": 1.0}})
    with pytest.raises(SDModelError, match="'Output' is an auxiliary, not a constant"):
        engines[engine].run({"output": 1.0})


def test_bad_values_and_outputs(engines: dict[str, Engine]) -> None:
    engine = engines["simlin"]
    with pytest.raises(SDModelError, match="must be a number"):
        engine.run({"Savings Rate": "high"})
    with pytest.raises(SDModelError, match="scalar constant"):
        engine.run({"Savings Rate": {"East": 0.1}})
    with pytest.raises(SDModelError, match="lookup table"):
        engine.run(outputs=["Credit Policy"])


@pytest.mark.parametrize("engine", ["pysd", "simlin"])
def test_missing_mdl(tmp_path: Path, cache: Path, engine: str) -> None:
    with pytest.raises(ModelFileError, match="absent.mdl"):
        get_engine(engine, tmp_path / "absent.mdl")


def test_unknown_engine_name() -> None:
    with pytest.raises(SDModelError, match="unknown engine 'vensim'; valid engines are batch, pysd, simlin"):
        get_engine("vensim", TOY)


def test_missing_simlin_suggests_pysd(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "simlin", None)  # makes `import simlin` raise ImportError
    with pytest.raises(EngineError, match="--engine pysd"):
        get_engine("simlin", TOY)


def test_model_with_a_circular_definition_gives_an_engine_error(tmp_path, cache):
    """pysimlin loads a model with a simultaneous equation but refuses to simulate it."""
    text = TOY.read_text(encoding="utf-8")
    bad = tmp_path / "loop.mdl"
    bad.write_text(text.replace("{UTF-8}\n", "{UTF-8}\nLoop A = Loop B + 1\n\t~\tdmnl\n\t~\tpart of a loop\n\t|\n\n"
                                "Loop B = Loop A * 0.5\n\t~\tdmnl\n\t~\tpart of a loop\n\t|\n\n", 1),
                   encoding="utf-8")
    with pytest.raises(EngineError, match="loop.mdl.*circular"):
        SimlinEngine(bad).run()
