"""User-facing errors.

Every error a user can cause (bad scenario, unknown parameter, missing file, bad data)
is an :class:`SDModelError`. Its message is one line that names the offending input and
says what is valid; the command line prints it and exits with status 2.
"""
from __future__ import annotations

import difflib
import math
import numbers
from collections.abc import Iterable
from typing import Any


class SDModelError(Exception):
    """Base class of every error caused by the user's input."""


class ModelFileError(SDModelError):
    """The Vensim model file is missing, unreadable or malformed."""


class ScenarioError(SDModelError, ValueError):
    """A scenario (TOML file or Python object) is invalid."""


class UnknownNameError(SDModelError, KeyError):
    """A parameter, lever or variable name that the model does not define."""

    def __str__(self) -> str:  # KeyError would otherwise quote the message
        return str(self.args[0]) if self.args else ""


class DataError(SDModelError, ValueError):
    """Historical data files are missing, malformed or inconsistent."""


class EngineError(SDModelError, RuntimeError):
    """A simulation engine is unavailable or failed to run the model."""


def close_matches(name: str, valid: Iterable[str], n: int = 3) -> list[str]:
    """Return up to ``n`` names from ``valid`` that look like ``name`` (case-insensitive)."""
    lowered = {v.lower(): v for v in valid}
    hits = difflib.get_close_matches(name.lower(), list(lowered), n=n, cutoff=0.6)
    return [lowered[h] for h in hits]


def did_you_mean(name: str, valid: Iterable[str], otherwise: str = "", n: int = 3) -> str:
    """The tail of an error message: ``"; did you mean 'a' or 'b'?"`` (up to ``n`` close matches of ``name``).

    Without a close match, ``"; " + otherwise`` (nothing if ``otherwise`` is empty).
    """
    hint = close_matches(name, valid, n)
    if hint:
        return "; did you mean " + " or ".join(map(repr, hint)) + "?"
    return f"; {otherwise}" if otherwise else ""


def unknown_name(kind: str, name: str, valid: Iterable[str], where: str = "",
                 listed_by: str = "sd-model info") -> UnknownNameError:
    """Build an :class:`UnknownNameError` that suggests close matches.

    ``kind`` is e.g. "parameter"; ``where`` names the file or context (may be empty);
    ``listed_by`` is the command that lists the valid names.
    """
    valid = sorted(valid)
    tail = did_you_mean(name, valid, f"valid names are listed by '{listed_by}' ({len(valid)} in all)")
    loc = f"{where}: " if where else ""
    return UnknownNameError(f"{loc}unknown {kind} {name!r}{tail}")


def check_number(value: Any, what: str, where: str = "", error: type[Exception] = SDModelError, *,
                 positive: bool = False, nonneg: bool = False, text: bool = False) -> float:
    """``value`` as a finite float, or ``error`` with a one-line message naming the input.

    The one check of a number read from a file or given by a caller (scenarios, ranges,
    calibration and check files, data tables, engine parameters).

    Parameters
    ----------
    value : Any
        The number (an int or float, not a bool), or with ``text`` a string such as ``"0.5"``.
    what : str
        What the value is, e.g. ``"value of 'Capital Elasticity'"`` or ``"column 'gdp'"``.
    where : str
        The file and line (or other context); may be empty. Default is "".
    error : type of Exception
        Class of the error raised. Default is :class:`SDModelError`.
    positive, nonneg : bool
        Also require ``value > 0`` or ``value >= 0``. Default is False.
    text : bool
        ``value`` is text to parse (a CSV cell). Default is False.

    Raises
    ------
    error
        ``"<where>: <what> must be a number, got ..."`` (a finite number, positive, not negative).
    """
    loc = f"{where}: " if where else ""
    shown = repr(value)[:40]
    if text and isinstance(value, str):
        try:
            v = float(value)
        except ValueError:
            raise error(f"{loc}{what} must be a number, got {shown}") from None
    elif isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise error(f"{loc}{what} must be a number, got {shown}")
    else:
        try:
            v = float(value)
        except OverflowError:  # an integer beyond the float range
            v, shown = math.inf, f"an integer of {len(str(value).lstrip('-'))} digits"
    if not math.isfinite(v):
        raise error(f"{loc}{what} must be a finite number, got {shown}")
    if positive and v <= 0:
        raise error(f"{loc}{what} must be positive, got {v:g}")
    if nonneg and v < 0:
        raise error(f"{loc}{what} must not be negative, got {v:g}")
    return v
