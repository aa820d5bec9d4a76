"""Calibration files: which parameters to estimate and which data series to fit.

A calibration file is TOML::

    name = "default"
    description = "..."
    base = "../historical.toml"      # scenario the estimates are laid over (optional)
    pre2000_deflator = "investment_price_index_screened"  # price level of 1978-1999 real GDP (optional;
                                     # sd_model.data.PRE2000_DEFLATORS, default the screened index: SOURCES.md)

    [span]                           # years compared with data (model time = data year)
    start = 1978
    end = 2015

    [optimizer]                      # all optional; the command line overrides some
    method = "local"                 # local | global | none
    starts = 8                       # multi-start: the start values, then Latin-hypercube points
    max_nfev = 200                   # least-squares iterations (function evaluations) per start
    seed = 1
    uncertainty = "jacobian"         # jacobian | bootstrap
    bootstrap = 40                   # bootstrap replicates

    [parameters]                     # Vensim names; "Name[Element]" for one element
    "Capital Elasticity" = { lower = 0.3, upper = 0.6, start = 0.35 }
    "Regional Savings Factor[West]" = { lower = 0.4, upper = 1 }   # start: the model's value

    [[series]]
    name = "real GDP"                # label used in reports and targets
    model = "GDP"                    # model variable (Region-subscripted or scalar)
    data = "gdp_real_2000"           # variable of sd_model.data.load_observations()
    transform = "log"                # level | log | share | ratio | growth
    normalise = "error"              # mean | error | none
    error = 0.05                     # measurement error in transformed units (normalise = "error")
    weight = 1.0                     # 0: reported, not fitted (its data may then have gaps)
    years = [1978, 2015]             # default: the span
    regions = ["East", "West"]       # default: all four

    [[targets]]                      # pass/fail lines of the fit report
    series = "real GDP"
    statistic = "mape"               # mape | rmse | r2 | max_abs_error | same_sign_sum | mean_error | relative_mape
    max = 0.10                       # and/or min (same_sign_sum: min = 1; relative_mape: out-of-sample only)
    period = "all"                   # in-sample | out-of-sample | all

``ratio`` needs ``model_denominator`` and ``data_denominator`` (a regional data
denominator is summed over regions for a national numerator). ``share`` divides each
region by the sum of the four regions, in the model and in the data.

:func:`load_config` checks the file's own structure;
:func:`~sd_model.calibration.problem.build_problem` checks it against
the model (names, elements, declared ranges) and the data (variables, regions, years
with values). Every error names the file and the line. The dataclasses it returns
(:class:`CalibrationConfig` and its parts) and the valid values of each setting are defined here.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ..data import PRE2000_DEFLATOR, PRE2000_DEFLATORS
from ..errors import SDModelError, check_number, did_you_mean
from ..files import read_toml

TRANSFORMS = ("level", "log", "share", "ratio", "growth")
NORMALISATIONS = ("mean", "error", "none")
STATISTICS = ("mape", "rmse", "r2", "max_abs_error", "same_sign_sum", "mean_error", "relative_mape")
PERIODS = ("in-sample", "out-of-sample", "all")
METHODS = ("local", "global", "none")
UNCERTAINTY = ("jacobian", "bootstrap")


class CalibrationError(SDModelError, ValueError):
    """A calibration file is invalid or does not match the model or the data."""


@dataclass(frozen=True)
class ParameterSpec:
    """One parameter to estimate (one element of a subscripted constant, or all of them).

    ``key`` is as written in the file, ``"Name"`` (a scalar, or one value shared by every
    element) or ``"Name[Element]"``, resolved against the model by
    :meth:`sd_model.parameters.Parameter.parse`. ``lower``/``upper`` are the search bounds
    and ``start`` the first start value (None: the model's value), in the constant's units.
    ``line`` is its line in the file.
    """

    key: str
    lower: float | None
    upper: float | None
    start: float | None
    line: int


@dataclass(frozen=True)
class SeriesSpec:
    """One data series compared with one model variable (see :mod:`sd_model.calibration.config`)."""

    name: str
    model: str
    data: str
    transform: str = "level"
    normalise: str = "mean"
    error: float | None = None
    weight: float = 1.0
    years: tuple[int, int] | None = None
    regions: tuple[str, ...] | None = None
    model_denominator: str | None = None
    data_denominator: str | None = None
    line: int = 0


@dataclass(frozen=True)
class TargetSpec:
    """A pass/fail criterion on one statistic of one series, per region."""

    series: str
    statistic: str
    max: float | None
    min: float | None
    period: str
    regions: tuple[str, ...] | None
    line: int


@dataclass(frozen=True)
class CalibrationConfig:
    """A calibration file as read (names not yet checked against the model)."""

    path: Path
    name: str
    description: str
    base: Path | None
    data_dir: Path | None
    span: tuple[int, int]
    optimizer: dict[str, Any]
    parameters: tuple[ParameterSpec, ...]
    series: tuple[SeriesSpec, ...]
    targets: tuple[TargetSpec, ...] = field(default=())
    text: str = ""
    #: The price level of 1978-1999 real GDP (:data:`sd_model.data.PRE2000_DEFLATORS`).
    pre2000_deflator: str = PRE2000_DEFLATOR
    #: True when ``base`` was given on the command line (``--base``): an estimated constant the base scenario
    #: sets starts from that value, not from the file's ``start`` (so that chained fits continue where the
    #: previous one stopped).
    start_from_base: bool = False

    def where(self, line: int | None = None) -> str:
        """``path:line`` (or ``path``) for error messages."""
        return f"{self.path}:{line}" if line else str(self.path)


_TOP = {"name", "description", "base", "data_dir", "pre2000_deflator", "span", "optimizer", "parameters", "series",
        "targets"}
_OPTIMIZER = {"method": "local", "starts": 8, "max_nfev": 200, "seed": 1, "uncertainty": "jacobian",
              "bootstrap": 40, "diff_step": 1e-6, "popsize": 10, "maxiter": 60}
_PARAM_KEYS = {"lower", "upper", "start"}
_SERIES_KEYS = {"name", "model", "data", "transform", "normalise", "error", "weight", "years", "regions",
                "model_denominator", "data_denominator"}
_TARGET_KEYS = {"series", "statistic", "max", "min", "period", "regions"}


# ------------------------------------------------------------------ helpers


def _line_of(lines: list[str], needle: str, start: int = 0) -> int:
    """1-based number of the first line at or after index ``start`` containing ``needle`` (0: none)."""
    return next((i + 1 for i in range(start, len(lines)) if needle in lines[i]), 0)


def _tables(items: list, path: Path, lines: list[str], header: str, keys: set[str],
            what: str) -> Iterator[tuple[dict, int, str]]:
    """(table, line, ``path:line: [[header]] name``) of each ``[[header]]`` table, its keys (``what``) checked."""
    heads = [i + 1 for i, text in enumerate(lines) if text.strip().startswith(f"[[{header}]]")]
    for i, item in enumerate(items):
        line = heads[i] if i < len(heads) else 0
        where = f"{path}:{line}: [[{header}]]" + (f" {item.get('name', i + 1)!r}" if header == "series" else "")
        if not isinstance(item, dict):
            raise CalibrationError(f"{where}: each [[{header}]] must be a table")
        _check_keys(item, keys, where, what)
        yield item, line, where


def _check_keys(table: dict, valid: Any, where: str, what: str, lines: list[str] | None = None) -> None:
    """Refuse the first key of ``table`` that is not in ``valid`` (with ``lines``: at the line naming it)."""
    for key in table:
        if key not in valid:
            at = f"{where}:{_line_of(lines, key)}" if lines is not None else where
            tail = did_you_mean(key, valid, f"valid: {', '.join(sorted(valid))}", n=1)
            raise CalibrationError(f"{at}: unknown {what} {key!r}{tail}")


def _choice(value: Any, valid: tuple[str, ...], where: str, what: str) -> str:
    if not isinstance(value, str) or value not in valid:
        raise CalibrationError(f"{where}: {what} {value!r} is not one of {', '.join(valid)}"
                               f"{did_you_mean(str(value), valid, n=1)}")
    return value


def _string(value: Any, where: str, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise CalibrationError(f"{where}: {what} must be a non-empty string, got {value!r}")
    return value.strip()


def _regions(value: Any, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise CalibrationError(f"{where}: regions must be a non-empty list of region names, got {value!r}")
    if len(set(value)) != len(value):
        raise CalibrationError(f"{where}: regions lists a region twice: {value!r}")
    return tuple(value)


def _years(value: Any, where: str) -> tuple[int, int]:
    ok = (isinstance(value, list) and len(value) == 2
          and all(isinstance(v, int) and not isinstance(v, bool) for v in value))
    if not ok:
        raise CalibrationError(f"{where}: years must be [first, last] (two integers), got {value!r}")
    if value[0] > value[1]:
        raise CalibrationError(f"{where}: years [{value[0]}, {value[1]}] are reversed (first after last)")
    return int(value[0]), int(value[1])


# ------------------------------------------------------------------ reading


def load_config_with_base(path: str | Path, base: str | Path | None) -> CalibrationConfig:
    """:func:`load_config`, with the scenario the estimates are laid over (and start from) replaced by ``base``.

    Every estimated constant that ``base`` sets starts from the base's value, even where the file gives a
    ``start`` (that start is for a fit from the file's own base); the others keep the file's start.

    ``base`` None keeps the file's own. Used for a clean out-of-sample fit: a Bayesian fit with ``--until YEAR``
    keeps the constants it does not sample at their start values, so its base should be a least-squares fit to
    YEAR (``calibrate --until YEAR``'s ``calibrated.toml``), not the shipped fit to the whole span (docs/bayes.md).
    """
    config = load_config(path)
    if base is None:
        return config
    resolved = Path(base).resolve()
    if not resolved.is_file():
        raise CalibrationError(f"--base: scenario file {base} not found")
    return replace(config, base=resolved, start_from_base=True)


def load_config(path: str | Path) -> CalibrationConfig:
    """Read and check the structure of a calibration TOML file.

    Parameters
    ----------
    path : str or Path
        The calibration file.

    Returns
    -------
    CalibrationConfig
        Names are not yet checked against the model or the data: see :func:`resolve`.

    Raises
    ------
    CalibrationError
        Missing or malformed file, unknown keys (with close matches), wrong types,
        non-finite numbers, reversed bounds or years, duplicate names; the message names
        the file and the line.
    """
    data, text = read_toml(path, "calibration file", CalibrationError)  # checks the type of path too
    path = Path(path)
    lines = text.splitlines()
    _check_keys(data, _TOP, str(path), "key", lines)

    name = _string(data.get("name", path.stem), str(path), "name")
    description = data.get("description", "")
    if not isinstance(description, str):
        raise CalibrationError(f"{path}: description must be a string")
    base = data.get("base")
    if base is not None:
        where = f"{path}:{_line_of(lines, 'base')}"
        base = (path.parent / _string(base, where, "base")).resolve()
        if not base.suffix:
            base = base.with_suffix(".toml")
        if not base.is_file():
            raise CalibrationError(f"{where}: base scenario {data['base']!r} not found ({base})")
    data_dir = data.get("data_dir")
    if data_dir is not None:
        data_dir = (path.parent / _string(data_dir, f"{path}:{_line_of(lines, 'data_dir')}", "data_dir")).resolve()

    pre2000_deflator = _choice(data.get("pre2000_deflator", PRE2000_DEFLATOR), PRE2000_DEFLATORS,
                               f"{path}:{_line_of(lines, 'pre2000_deflator')}", "pre2000_deflator")

    span_table = data.get("span", {})
    where = f"{path}:{_line_of(lines, '[span]')}"
    if not isinstance(span_table, dict) or not {"start", "end"} <= set(span_table):
        raise CalibrationError(f"{where}: [span] must give start and end years")
    _check_keys(span_table, ("start", "end"), where, "[span] key")
    span = _years([span_table["start"], span_table["end"]], where)

    opt_table = data.get("optimizer", {})
    where = f"{path}:{_line_of(lines, '[optimizer]')}"
    if not isinstance(opt_table, dict):
        raise CalibrationError(f"{where}: [optimizer] must be a table")
    _check_keys(opt_table, _OPTIMIZER, where, "[optimizer] key")
    optimizer = {**_OPTIMIZER, **opt_table}
    optimizer["method"] = _choice(optimizer["method"], METHODS, where, "method")
    optimizer["uncertainty"] = _choice(optimizer["uncertainty"], UNCERTAINTY, where, "uncertainty")
    for key, low in {"starts": 1, "max_nfev": 1, "popsize": 1, "maxiter": 1, "bootstrap": 2, "seed": 0}.items():
        if isinstance(optimizer[key], bool) or not isinstance(optimizer[key], int) or optimizer[key] < low:
            raise CalibrationError(f"{where}: {key} must be an integer >= {low}, got {optimizer[key]!r}")
    optimizer["diff_step"] = check_number(optimizer["diff_step"], "diff_step", where, CalibrationError, positive=True)

    parameters = _read_parameters(data.get("parameters"), path, lines)
    series = _read_series(data.get("series"), path, lines)
    targets = _read_targets(data.get("targets", []), path, lines, {s.name for s in series})
    return CalibrationConfig(path=path, name=name, description=description, base=base, data_dir=data_dir,
                             span=span, optimizer=optimizer, parameters=parameters, series=series,
                             targets=targets, text=text, pre2000_deflator=pre2000_deflator)


def _read_parameters(table: Any, path: Path, lines: list[str]) -> tuple[ParameterSpec, ...]:
    head = _line_of(lines, "[parameters]")
    if not isinstance(table, dict) or not table:
        raise CalibrationError(f"{path}:{head}: [parameters] must name at least one parameter to estimate")
    out = []
    for key, spec in table.items():
        line = _line_of(lines, f'"{key}"', head) or _line_of(lines, key, head) or head
        where = f"{path}:{line}: parameter {key!r}"
        if not isinstance(spec, dict):
            raise CalibrationError(f"{where}: give a table such as {{ lower = 0.1, upper = 0.5 }}")
        _check_keys(spec, _PARAM_KEYS, where, "setting")
        lower, upper, start = (check_number(spec[k], k, where, CalibrationError) if k in spec else None
                               for k in ("lower", "upper", "start"))
        if lower is not None and upper is not None and lower >= upper:
            raise CalibrationError(f"{where}: bounds are reversed or empty (lower {lower:g} >= upper {upper:g})")
        out.append(ParameterSpec(key=key, lower=lower, upper=upper, start=start, line=line))
    return tuple(out)


def _read_series(items: Any, path: Path, lines: list[str]) -> tuple[SeriesSpec, ...]:
    if not isinstance(items, list) or not items:
        raise CalibrationError(f"{path}: give at least one [[series]] to fit")
    out: list[SeriesSpec] = []
    for item, line, where in _tables(items, path, lines, "series", _SERIES_KEYS, "series key"):
        for key in ("name", "model", "data"):
            if key not in item:
                raise CalibrationError(f"{where}: missing {key!r}")
        transform = _choice(item.get("transform", "level"), TRANSFORMS, where, "transform")
        normalise = _choice(item.get("normalise", "mean"), NORMALISATIONS, where, "normalise")
        error = (check_number(item["error"], "error", where, CalibrationError, positive=True) if "error" in item
                 else None)
        if normalise == "error" and error is None:
            raise CalibrationError(f"{where}: normalise = \"error\" needs error = <measurement error>")
        if transform == "ratio" and not {"model_denominator", "data_denominator"} <= set(item):
            raise CalibrationError(f"{where}: transform = \"ratio\" needs model_denominator and data_denominator")
        if transform != "ratio" and ({"model_denominator", "data_denominator"} & set(item)):
            raise CalibrationError(f"{where}: denominators are only used with transform = \"ratio\"")
        spec = SeriesSpec(
            name=_string(item["name"], where, "name"), model=_string(item["model"], where, "model"),
            data=_string(item["data"], where, "data"), transform=transform, normalise=normalise, error=error,
            weight=check_number(item.get("weight", 1.0), "weight", where, CalibrationError, nonneg=True),
            years=_years(item["years"], where) if "years" in item else None,
            regions=_regions(item["regions"], where) if "regions" in item else None,
            model_denominator=item.get("model_denominator"), data_denominator=item.get("data_denominator"),
            line=line)
        if any(s.name == spec.name for s in out):
            raise CalibrationError(f"{where}: two series are called {spec.name!r}")
        out.append(spec)
    if all(s.weight == 0 for s in out):
        raise CalibrationError(f"{path}: every series has weight 0; nothing to fit")
    return tuple(out)


def _read_targets(items: Any, path: Path, lines: list[str], names: set[str]) -> tuple[TargetSpec, ...]:
    if not isinstance(items, list):
        raise CalibrationError(f"{path}: targets must be [[targets]] tables")
    out = []
    for item, line, where in _tables(items, path, lines, "targets", _TARGET_KEYS, "target key"):
        series = _string(item.get("series"), where, "series")
        if series not in names:
            tail = did_you_mean(series, names, f"series are {', '.join(sorted(names))}", n=1)
            raise CalibrationError(f"{where}: unknown series {series!r}{tail}")
        if "max" not in item and "min" not in item:
            raise CalibrationError(f"{where}: give max (or min) for the statistic")
        if item.get("statistic") == "relative_mape" and item.get("period", "all") != "out-of-sample":
            raise CalibrationError(f"{where}: statistic \"relative_mape\" (against the naive forecast) needs "
                                   f"period = \"out-of-sample\"")
        out.append(TargetSpec(
            series=series, statistic=_choice(item.get("statistic"), STATISTICS, where, "statistic"),
            max=check_number(item["max"], "max", where, CalibrationError) if "max" in item else None,
            min=check_number(item["min"], "min", where, CalibrationError) if "min" in item else None,
            period=_choice(item.get("period", "all"), PERIODS, where, "period"),
            regions=_regions(item["regions"], where) if "regions" in item else None, line=line))
    return tuple(out)
