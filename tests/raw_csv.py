"""Independent readers of the project's raw CSV files for the data tests (the csv module only).

Tests recompute their reference values with these, not with :mod:`sd_model.data`, so that a
fault in the package's readers cannot hide in both sides of a comparison.
"""
from __future__ import annotations

import csv
from pathlib import Path

RAW = Path(__file__).resolve().parent.parent / "data" / "raw"


def rows(fname: str, folder: Path = RAW) -> list[dict[str, str]]:
    """Every row of ``folder/fname`` as a dict of strings."""
    with (folder / fname).open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def provinces_of(region: str) -> list[str]:
    """The provinces of a macro-region, from ``regions.csv``."""
    return [r["province"] for r in rows("regions.csv") if r["region"] == region]
