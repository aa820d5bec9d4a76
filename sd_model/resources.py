"""Files the package ships: the model, scenarios, ranges, calibration and check declarations, data.

Read through :mod:`importlib.resources`, so they are found the same way in a source checkout
(``sd_model/_data`` links to ``vensim/``, ``experiments/`` and ``data/``) and in an installed
wheel (where they are package data).
"""
from __future__ import annotations

from importlib.resources import files
from pathlib import Path

__all__ = ["resource", "DEFAULT_MODEL", "EXPERIMENTS_DIR", "RAW_DATA_DIR"]


def resource(*parts: str) -> Path:
    """Path of a shipped file or folder, e.g. ``resource("experiments", "balanced.toml")``."""
    return Path(str(files("sd_model").joinpath("_data", *parts))).resolve()


#: The Vensim model.
DEFAULT_MODEL = resource("vensim", "regional_finance_economy.mdl")
#: Scenario files; ``ranges/``, ``calibration/`` and ``checks/`` hold the other declarations.
EXPERIMENTS_DIR = resource("experiments")
#: The raw data files (with ``SOURCES.md``).
RAW_DATA_DIR = resource("data", "raw")
