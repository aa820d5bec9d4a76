"""Scenarios: named sets of parameter and lever settings, read from TOML files.

A scenario file looks like::

    name = "balanced"
    description = "The balanced strategy as it happened."
    role = "baseline"                     # optional: "baseline" or "counterfactual", for the report
    inherits = "historical.toml"          # optional; path relative to this file

    [time]
    final_time = 2100                     # optional (Year)
    time_step = 0.125                     # optional (Year)

    [params]                              # Vensim names of model constants
    "Capital Elasticity" = 0.45
    "Initial Population" = { East = 330.0 }   # per element of a subscripted constant

    [levers."Differential Finance"]       # sugar for "<lever> Start Year" and "<lever> Intensity"
    start = 2025
    intensity = 0.5

Loading resolves inheritance (a child overrides its parent's settings); validation
against the model (:func:`validate`) canonicalises names and checks values against the
ranges the model declares.
"""
from __future__ import annotations

import math
import numbers
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

from .errors import ScenarioError, check_number, did_you_mean
from .files import read_toml
from .resources import EXPERIMENTS_DIR
from .parameters import ParamValue, lever_names, merge_params
from .runspec import RunSpec, build_spec

_LEVER_KEYS = {"start": "Start Year", "end": "End Year", "intensity": "Intensity"}
_TOP_KEYS = {"name", "description", "role", "inherits", "time", "params", "levers"}
#: Roles a scenario may declare for the report's narrative (not inherited): the baseline
#: other scenarios are measured against, and the counterfactual history it is compared with.
ROLES = ("baseline", "counterfactual")
_TIME_KEYS = {"final_time", "time_step"}
#: Longest inheritance chain accepted (files), and longest description (characters).
MAX_INHERITS = 50
MAX_DESCRIPTION = 10_000
#: Smallest time step accepted (Year): 1/1024 already means ~125,000 Euler steps to 2100.
MIN_TIME_STEP = 1 / 1024
#: The shipped scenarios. Wherever a scenario file is expected (``run -s``, ``ensemble --scenario``,
#: ``compare``, ``sensitivity``, ``explore``, ``inherits``), a bare name such as ``historical`` that is
#: not a file means ``experiments/historical.toml``.
SCENARIO_DIR = EXPERIMENTS_DIR


@dataclass(frozen=True)
class Scenario:
    """A validated or raw scenario.

    Attributes
    ----------
    name, description : str
    params : mapping of Vensim constant name -> float, or element -> float for
        subscripted constants (element keys "East" or "East,West" for 2-D constants).
    final_time, time_step : float or None (Year); None keeps the model's value.
    source : path of the TOML file it came from, if any.
    lineage : names of the files it inherits from, nearest first.
    role : "baseline", "counterfactual" (see :data:`ROLES`) or "" (a strategy to compare); not inherited.
    """

    name: str = "default"
    description: str = ""
    params: Mapping[str, ParamValue] = field(default_factory=dict)
    final_time: float | None = None
    time_step: float | None = None
    source: str | None = None
    lineage: tuple[str, ...] = ()
    role: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.name, str):
            raise ScenarioError(f"scenario name must be a string such as 'balanced', got {type(self.name).__name__} "
                                f"{self.name!r}")
        if not isinstance(self.description, str):
            raise ScenarioError(f"scenario {self.name!r}: description must be a string, got "
                                f"{type(self.description).__name__}")
        if len(self.description) > MAX_DESCRIPTION:
            raise ScenarioError(f"scenario {self.name!r}: description has {len(self.description):,} characters; "
                                f"at most {MAX_DESCRIPTION:,} (it is copied into every manifest)")
        for key in ("final_time", "time_step"):
            value = getattr(self, key)
            if value is not None and (isinstance(value, bool) or not isinstance(value, numbers.Real)):
                raise ScenarioError(f"scenario {self.name!r}: {key} must be a number (years) or None, got "
                                    f"{type(value).__name__} {value!r}")
        if self.source is not None and not isinstance(self.source, str):
            raise ScenarioError(f"scenario {self.name!r}: source must be a path string or None")
        if not isinstance(self.params, Mapping):
            raise ScenarioError(f"scenario {self.name!r}: params must be a mapping of Vensim name -> number "
                                f"(or element -> number), got {type(self.params).__name__}")
        for key, value in self.params.items():
            _check_param(self.name, key, value)
        frozen = {k: MappingProxyType(dict(v)) if isinstance(v, Mapping) else v for k, v in self.params.items()}
        object.__setattr__(self, "params", MappingProxyType(frozen))
        object.__setattr__(self, "lineage", tuple(self.lineage))

    def with_params(self, params: Mapping[str, ParamValue], **changes: Any) -> Scenario:
        """Return a copy with ``params`` laid over this scenario's (per element for arrays)."""
        if not isinstance(params, Mapping):
            raise ScenarioError(f"with_params takes a mapping of Vensim name -> number, got {type(params).__name__}")
        return replace(self, params=merge_params(self.params, params), **changes)

    def resolve(self, info: Any, outputs: Sequence[str] | None = None, until: float | None = None,
                levers_in_run: bool = False) -> RunSpec:
        """Check this scenario against the model once and return its :class:`~sd_model.runspec.RunSpec`.

        ``info`` is a :class:`sd_model.mdl.ModelInfo`; ``until`` overrides the final year; with
        ``levers_in_run`` every active lever, the model's own included, must start within the run
        (:func:`check_levers`; experiments compare scenarios over one span). Raises
        :class:`ScenarioError` (or :class:`UnknownNameError`) naming the file, the parameter and
        what is valid: unknown names (with close matches), non-constants, unknown elements,
        values outside the declared range, a final time not after the initial time or not
        finite, a time step outside [1/1024, 1] or not dividing SAVEPER, a name that cannot be
        an output folder (see :func:`check_name`).
        """
        if not hasattr(info, "constants") or not hasattr(info, "variables"):
            raise ScenarioError(f"resolve takes the model's ModelInfo (sd_model.mdl.read_model_info), got "
                                f"{type(info).__name__}")
        if until is not None and (isinstance(until, bool) or not isinstance(until, numbers.Real)):
            raise ScenarioError(f"until must be a year (a number), got {until!r}")
        sc = self if until is None else replace(self, final_time=float(until))
        check_name(sc.name, sc.source)
        where = sc.source or sc.name
        start = info.initial_time
        if sc.final_time is not None and not math.isfinite(sc.final_time):
            raise ScenarioError(f"{where}: final time {sc.final_time!r} is not a finite year")
        if sc.final_time is not None and sc.final_time <= start:
            raise ScenarioError(
                f"{where}: final time {sc.final_time:g} is not after the start year {start:g}; "
                f"valid: a year after {start:g}"
            )
        if sc.time_step is not None and not (MIN_TIME_STEP <= sc.time_step <= 1):
            raise ScenarioError(f"{where}: time step {sc.time_step:g} is not in [{MIN_TIME_STEP:g}, 1] year")
        if sc.time_step is not None:
            steps_per_save = info.saveper / sc.time_step
            if abs(steps_per_save - round(steps_per_save)) > 1e-9:
                raise ScenarioError(f"{where}: time step {sc.time_step:g} does not divide SAVEPER "
                                    f"{info.saveper:g}; valid: 1/2, 1/4, 1/8, ... of a year")
        spec = build_spec(info, sc.params, final_time=sc.final_time, time_step=sc.time_step,
                          outputs=outputs, where=where, check_range=True, name=sc.name,
                          description=sc.description)
        check_levers(spec.params, info, where, (spec.times.initial, spec.times.final) if levers_in_run else None)
        return replace(spec, scenario=replace(sc, params=spec.params))

    def to_dict(self) -> dict[str, Any]:
        """Plain-data form (for manifests and TOML round trips)."""
        return {
            "name": self.name,
            "description": self.description,
            "time": {k: v for k, v in (("final_time", self.final_time), ("time_step", self.time_step))
                     if v is not None},
            "params": {k: (dict(v) if isinstance(v, Mapping) else v) for k, v in self.params.items()},
            "source": self.source,
            "lineage": list(self.lineage),
        }


def _check_param(scenario: str, key: Any, value: Any) -> None:
    """Type check of one params entry of a Scenario built in Python (values are range-checked by validate)."""
    if not isinstance(key, str):
        raise ScenarioError(f"scenario {scenario!r}: parameter names must be strings, got {key!r}")
    values = value.items() if isinstance(value, Mapping) else [("", value)]
    for element, v in values:
        label = f"{key}[{element}]" if element else key
        if not isinstance(element, str) or isinstance(v, bool) or not isinstance(v, numbers.Real):
            raise ScenarioError(f"scenario {scenario!r}: {label!r} must be a number (or a table element -> "
                                f"number), got {v!r}")


# ---------------------------------------------------------------- reading TOML


def _shown(text: Any, quote: bool = False) -> str:
    """A name from the file as it may appear in a one-line message (repr if not printable)."""
    text = str(text)
    if not text.isprintable():
        return repr(text)
    return f'"{text}"' if quote else text


def _value(value: Any, label: str, where: str) -> ParamValue:
    """A number, or {element: number}, of a scenario file; ``label`` names it in messages."""
    if isinstance(value, dict):
        return {str(el): check_number(v, f"{label}[{_shown(el)}]", where, ScenarioError) for el, v in value.items()}
    return check_number(value, label, where, ScenarioError)


def _params_from_table(table: Any, where: str) -> dict[str, ParamValue]:
    if not isinstance(table, dict):
        raise ScenarioError(f"{where}: [params] must be a table of name = value")
    return {name: _value(value, _shown(name), where) for name, value in table.items()}


def _levers_from_table(table: Any, where: str) -> dict[str, ParamValue]:
    if not isinstance(table, dict):
        raise ScenarioError(f"{where}: [levers] must hold one table per lever")
    out: dict[str, ParamValue] = {}
    for lever, settings in table.items():
        if not isinstance(settings, dict):
            raise ScenarioError(
                f"{where}: [levers.{_shown(lever, quote=True)}] must be a table with start, end, intensity")
        for key, value in settings.items():
            if key not in _LEVER_KEYS:
                raise ScenarioError(f"{where}: lever {lever!r} has unknown setting {key!r}; valid: start, end, "
                                    f"intensity{did_you_mean(key, _LEVER_KEYS, n=1)}")
            out[f"{lever} {_LEVER_KEYS[key]}"] = _value(value, f"{_shown(lever)}.{key}", where)
    return out


def _bare(arg: str | Path) -> bool:
    path = Path(arg)
    return path.parent == Path(".") and path.suffix in ("", ".toml") and path.name not in ("", ".", "..")


def shipped_scenarios(folder: Path = SCENARIO_DIR) -> list[str]:
    """Names of the shipped scenarios (the ``*.toml`` files of ``folder``)."""
    return sorted(p.stem for p in folder.glob("*.toml"))


def resolve_scenario(arg: str | Path, folder: Path = SCENARIO_DIR) -> Path:
    """The scenario file for ``arg``: a path to a file, else a bare name of a file in ``folder``.

    ``historical`` and ``historical.toml`` both find ``experiments/historical.toml`` unless a file
    of that name exists where the command runs (a path always wins).

    Raises
    ------
    ScenarioError
        If neither exists; the message lists the shipped scenarios.
    """
    path = Path(arg)
    if path.is_file():
        return path
    if _bare(arg):
        named = folder / f"{path.stem}.toml"
        if named.is_file():
            return named
    if path.is_symlink():  # name the link, and say where it points (issue 10)
        raise ScenarioError(f"{arg}: scenario file not found (a symbolic link to {os.readlink(path)}, which does "
                            "not exist)")
    known = ", ".join(shipped_scenarios(folder))
    raise ScenarioError(f"{arg}: scenario file not found; give a path or one of: {known}")


def load_scenario(path: str | Path) -> Scenario:
    """Read a scenario TOML file, or a shipped scenario by name, resolving ``inherits`` chains.

    ``path`` is found as :func:`resolve_scenario` says. ``inherits`` names a file relative to the
    inheriting file's folder, a shipped scenario by name, or an absolute path anywhere on disk;
    chains are limited to :data:`MAX_INHERITS` files.

    Raises :class:`ScenarioError` for a missing or malformed file (with the line),
    unknown top-level keys, non-numeric values and inheritance loops.
    """
    if not isinstance(path, (str, os.PathLike)):
        raise ScenarioError(f"load_scenario takes the path of a scenario TOML file, got {type(path).__name__} "
                            f"{path!r}")
    return _load(resolve_scenario(path), ())


def _load(path: Path, chain: tuple[Path, ...]) -> Scenario:
    """The scenario of the file ``path`` (an existing file), inheriting from its parents; ``chain``: its children."""
    path = path.resolve()
    if len(chain) >= MAX_INHERITS:
        raise ScenarioError(f"{chain[0]}: inheritance chain longer than {MAX_INHERITS} files (at {path.name}); "
                            f"valid: at most {MAX_INHERITS} levels of 'inherits'")
    if path in chain:
        loop = " -> ".join(p.name for p in (*chain, path))
        raise ScenarioError(f"{chain[0]}: inheritance loop: {loop}")
    data = read_toml(path, "scenario file", ScenarioError)[0]
    for key in data:
        if key not in _TOP_KEYS:
            raise ScenarioError(f"{path}: unknown key {key!r}; valid keys: {', '.join(sorted(_TOP_KEYS))}"
                                f"{did_you_mean(key, _TOP_KEYS, n=1)}")
    parent = Scenario()
    if "inherits" in data:
        if not isinstance(data["inherits"], str):
            raise ScenarioError(f"{path}: 'inherits' must be a file name")
        parent_path = (path.parent / data["inherits"])
        if not parent_path.suffix:
            parent_path = parent_path.with_suffix(".toml")
        if not parent_path.is_file() and _bare(data["inherits"]) and (SCENARIO_DIR / parent_path.name).is_file():
            parent_path = SCENARIO_DIR / parent_path.name  # a shipped scenario by name
        if not parent_path.is_file():
            raise ScenarioError(f"{path}: inherits {data['inherits']!r}, but {parent_path} does not exist and no "
                                f"shipped scenario has that name ({', '.join(shipped_scenarios())})")
        parent = _load(parent_path, (*chain, path))

    time = data.get("time", {})
    if not isinstance(time, dict):
        raise ScenarioError(f"{path}: [time] must be a table")
    for key in time:
        if key not in _TIME_KEYS:
            raise ScenarioError(f"{path}: unknown [time] key {key!r}; valid: final_time, time_step")
    final_time, time_step = (check_number(time[k], f"time.{k}", str(path), ScenarioError) if k in time
                             else getattr(parent, k) for k in ("final_time", "time_step"))

    params = _params_from_table(data.get("params", {}), str(path))
    lever_params = _levers_from_table(data.get("levers", {}), str(path))
    for name in set(params) & set(lever_params):
        raise ScenarioError(f"{path}: {name!r} is set both in [params] and in [levers]")
    own = merge_params(params, lever_params)

    name = data.get("name", path.stem)
    description = data.get("description", "")
    if not isinstance(name, str) or not isinstance(description, str):
        raise ScenarioError(f"{path}: 'name' and 'description' must be strings")
    role = data.get("role", "")
    if role not in ("", *ROLES):
        raise ScenarioError(f"{path}: role {role!r} is not one of {', '.join(ROLES)}")
    return Scenario(
        name=name,
        description=description,
        params=merge_params(parent.params, own),
        final_time=final_time,
        time_step=time_step,
        source=str(path),
        lineage=(parent.source, *parent.lineage) if parent.source else (),
        role=role,
    )


# ---------------------------------------------------------------- validation


def validate(scenario: Scenario, info: Any) -> Scenario:
    """Check a scenario against the model; return it with canonical names (see :meth:`Scenario.resolve`)."""
    if not isinstance(scenario, Scenario):
        raise ScenarioError(f"validate takes a Scenario (see load_scenario), got {type(scenario).__name__}")
    return scenario.resolve(info).scenario


def check_levers(params: Mapping[str, ParamValue], info: Any, where: str,
                 span: tuple[float, float] | None = None) -> None:
    """Check every active lever (intensity above zero, per element; values of ``params``, else the model's).

    It must not end before it starts (it would be silently inactive) and, with ``span``
    (first, last year of the run), must start within it. Without ``span`` only the levers
    ``params`` sets are checked. Raises :class:`ScenarioError` naming ``where``, the lever
    (and element), its years and what is valid.
    """
    for lever in lever_names(info):
        names = (f"{lever} Start Year", f"{lever} End Year", f"{lever} Intensity")
        if span is None and not any(n in params for n in names):
            continue
        start, end, level = ({**as_elements(info.variables[n].default if n in info.variables else None),
                              **as_elements(params.get(n))} for n in names)
        for element in sorted(start.keys() | end.keys()):
            s_el, e_el = start.get(element, start.get("")), end.get(element, end.get(""))
            if s_el is None or level.get(element, level.get("", 0.0)) <= 0:
                continue
            label = f"{lever}[{element}]" if element else lever
            if e_el is not None and s_el > e_el:
                raise ScenarioError(f"{where}: lever {label!r} starts in {s_el:g} but ends in {e_el:g}; valid: an "
                                    "end year at or after the start year")
            if span is not None and not span[0] <= s_el <= span[1]:
                first, last = span
                raise ScenarioError(f"{where}: lever {label!r} starts in {s_el:g}, outside the run {first:g}-{last:g}; "
                                    f"valid: a start year from {first:g} to {last:g} (or intensity 0)")


def as_elements(value: Any) -> dict[str, float]:
    """A constant's value as {element key: value}, ``{"": value}`` for a scalar (``{}`` for None)."""
    if isinstance(value, Mapping):
        return {str(k): float(v) for k, v in value.items()}
    return {} if value is None else {"": float(value)}


#: Longest scenario name in UTF-8 bytes: it becomes a folder name (255 bytes at most on common
#: file systems), and the atomic writer adds about 20 characters to it.
MAX_NAME_LENGTH = 100


def check_name(name: Any, source: str | None = None) -> str:
    """Check that a scenario name can be used as one output folder name and return it.

    Outputs go to ``<out>/<name>``, so a name that is empty, ``.`` or ``..``, holds a path
    separator, starts with a dot (hidden; the atomic writer's temporary folders do), holds
    control characters or is longer than :data:`MAX_NAME_LENGTH` UTF-8 bytes could write
    outside ``<out>`` or replace ``<out>`` itself; it raises :class:`ScenarioError`.
    """
    where = f"{source}: " if source else ""
    if not isinstance(name, str):
        raise ScenarioError(f"{where}scenario name must be a string such as 'balanced', got "
                            f"{type(name).__name__} {name!r}")
    if not name.strip():
        raise ScenarioError(f"{where}scenario name {name!r} is empty; give a name such as 'balanced'")
    bad = [c for c in name if c in "/\\" or ord(c) < 32 or ord(c) == 127]
    if bad or name.startswith(".") or len(name.encode("utf-8", "replace")) > MAX_NAME_LENGTH:
        raise ScenarioError(
            f"{where}scenario name {name[:MAX_NAME_LENGTH + 20]!r} cannot be a folder name; use at most "
            f"{MAX_NAME_LENGTH} bytes (UTF-8), no path separator or control character, not starting with '.'")
    return name
