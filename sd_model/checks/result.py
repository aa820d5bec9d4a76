"""The outcome of one check."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one check of the battery.

    Attributes
    ----------
    name : str
        ``group.item``, e.g. ``"integration.time_step"``.
    passed : bool
        Whether the model met the declared criterion.
    figure : str
        The measured number(s), e.g. ``"max rel change 0.0075 (Loans[East] in 1990)"``.
    message : str
        What was found; names the offending variable(s) when the check fails.
    """

    name: str
    passed: bool
    figure: str
    message: str
