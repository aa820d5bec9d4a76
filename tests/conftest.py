"""Shared fixtures: engines on the shipped model with a temporary translation cache, and one shared PySD run."""
from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXPERIMENTS = ROOT / "experiments"


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Keep PySD translations out of the source tree and the user's cache."""
    root = tmp_path_factory.mktemp("sd_model_cache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SD_MODEL_CACHE", str(root))
        yield root


@pytest.fixture(scope="session")
def simlin_engine(cache_dir: Path):
    from sd_model.run import load_engine

    return load_engine("simlin")


@pytest.fixture(scope="session")
def pysd_engine(cache_dir: Path):
    from sd_model.run import load_engine

    return load_engine("pysd")


@pytest.fixture(scope="session")
def historical(simlin_engine):
    """The historical baseline run 1978-2100 (simlin)."""
    from sd_model.run import run_scenario
    from sd_model.scenario import load_scenario

    return run_scenario(load_scenario(EXPERIMENTS / "historical.toml"), simlin_engine)


def agreement_scenario(info: Any) -> Any:
    """The scenario of the engine-agreement check, as ``sd_model.checks.agreement`` builds it.

    The declared baseline (``experiments/checks/checks.toml``) with every strategy lever on from
    its ``levers_start`` and off at its ``levers_end``, to its ``final_time``: every structure of
    the model runs within a short (PySD-affordable) horizon.
    """
    from sd_model.checks import DEFAULT_SPEC, load_spec
    from sd_model.checks._context import all_levers_on
    from sd_model.scenario import load_scenario

    spec = load_spec(DEFAULT_SPEC)
    return load_scenario(spec.baseline).with_params(
        all_levers_on(info, spec.agreement_levers_start, spec.agreement_levers_end),
        final_time=spec.agreement_final_time)


@dataclass(frozen=True)
class PysdRun:
    """One PySD run of the shipped model: its scenario, results and CPU seconds (this process)."""

    scenario: Any
    results: Any
    cpu_seconds: float

    def copy(self) -> Any:
        """The results, a deep copy (tests may not change what other tests share)."""
        return self.results.copy(deep=True)


@pytest.fixture(scope="session")
def pysd_reference(pysd_engine) -> PysdRun:
    """The only PySD run of the full model in the suite (PySD takes ~0.12 s per Euler step on it).

    Shared by the engine comparison of ``test_model``, the agreement check of ``test_checks`` and
    the PySD cost estimate of ``test_budget``, on the agreement check's own scenario.
    """
    from sd_model.run import run_scenario

    sc = agreement_scenario(pysd_engine.info)
    t0 = time.process_time()
    ds = run_scenario(sc, pysd_engine)
    return PysdRun(sc, ds, time.process_time() - t0)
