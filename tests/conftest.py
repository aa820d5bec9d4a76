"""Shared fixtures: engines on the shipped model with a temporary translation cache."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

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
