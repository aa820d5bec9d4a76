"""Loops That Matter (Schoenberg, Davidsen & Eberlein 2020) with Simlin's loop discovery.

Simlin (pysimlin 0.8.5) computes link and loop scores during a run and, for models too large for
exhaustive loop enumeration (ours), *discovers* the loops that matter after the run
(``Model.analyze``). Each discovered loop carries its relative loop score over time (signed share of
its cycle partition's total absolute loop score, in [-1, 1]). This module

- bakes a scenario's constants into the Simlin model (``analyze`` runs the model's own values),
- runs discovery, names each loop by the stocks it passes through,
- groups the discovered loops into the families named in ``vensim/loops.toml`` (the paper's
  finance-growth, Matthew-effect and migration loops): a loop belongs to a family when it passes
  through every variable the family lists (subscripts dropped), so one loop can belong to several,
- and sums the share of behaviour of every loop over periods (decades; 2015 is a boundary).

Simlin's own pinning (``set_loop_name``) was tried: on this arrayed model it pins only some of the
named loops, as cycles running through all four regions, with a zero score (see docs/structure.md),
so named loops are found among the discovered ones instead. A family absent from the
discovered loops is reported as such: discovery keeps the loops that carry the behaviour (a
sample when ``enumeration_complete`` is False), so absence means a small share, not no loop.
"""
from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from ..errors import SDModelError
from ..mdl import normalize_name, read_model_info
from ..resources import resource
from ..scenario import Scenario, validate

__all__ = ["NamedLoop", "LoopRow", "LoopAnalysis", "load_named_loops", "analyze_loops", "periods",
           "DEFAULT_LOOPS"]

DEFAULT_LOOPS = resource("vensim", "loops.toml")


@dataclass(frozen=True)
class NamedLoop:
    """A loop named in the loops TOML: its name, expected polarity, description and variables."""

    name: str
    polarity: str
    description: str
    variables: tuple[str, ...]


@dataclass(frozen=True)
class LoopRow:
    """One discovered loop.

    Simlin id, label, polarity (R, B, Rux, Bux, U), the named families it belongs to ("" if none,
    else names joined by ", "), mean |share| in the window, share by period, and its variables.
    """

    id: str
    label: str
    polarity: str
    named: str
    importance: float
    shares: tuple[float, ...]
    variables: tuple[str, ...]


@dataclass(frozen=True)
class LoopAnalysis:
    """Result of :func:`analyze_loops`.

    Loops ranked by importance in the window, the periods, the dominant loop ids per period, the
    time axis and each loop's share series; for each named family, the summed mean |share| of its
    loops by period (all, and the reinforcing ones only).
    """

    scenario: str
    window: tuple[float, float]
    periods: tuple[tuple[float, float], ...]
    rows: tuple[LoopRow, ...]
    dominant: tuple[tuple[str, ...], ...]
    times: np.ndarray
    series: dict[str, np.ndarray]
    enumeration_complete: bool
    truncated: bool
    named_missing: tuple[str, ...]
    families: dict[str, tuple[float, ...]]
    family_counts: dict[str, int]
    families_reinforcing: dict[str, tuple[float, ...]]


def load_named_loops(path: str | Path = DEFAULT_LOOPS) -> list[NamedLoop]:
    """Read the named loops (``[[loop]]`` name, polarity, description, variables)."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SDModelError(f"loops file not found: {path}") from None
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise SDModelError(f"{path}: cannot read the loops file ({exc})") from None
    out = []
    for i, item in enumerate(data.get("loop", []), 1):
        if not isinstance(item.get("name"), str) or not isinstance(item.get("variables"), list):
            raise SDModelError(f"{path}: loop {i} needs a name and a list of variables")
        out.append(NamedLoop(item["name"], str(item.get("polarity", "")), str(item.get("description", "")),
                             tuple(item["variables"])))
    return out


def periods(start: float, end: float) -> list[tuple[float, float]]:
    """Split [start, end] at every multiple of 10 and at 2015 (the end of the historical data)."""
    cuts = sorted({start, end, *(y for y in range(int(start) + 1, int(end)) if y % 10 == 0 or y == 2015)})
    return list(zip(cuts[:-1], cuts[1:]))


def _strip(name: str) -> str:
    return normalize_name(re.sub(r"\[[^\]]*\]", "", name))


def _label(variables: tuple[str, ...], stocks: set[str]) -> str:
    on = [v for v in variables if _strip(v) in stocks]
    return " > ".join(on) if on else " > ".join(variables[:3])


def _bake(model, scenario: Scenario, info) -> None:
    """Set the scenario's constants as the Simlin model's own values (``analyze`` ignores overrides)."""
    if not scenario.params:
        return
    with model.edit() as (current, patch):
        by_key = {normalize_name(k): v for k, v in current.items()}
        for name, value in scenario.params.items():
            var = info.get(name)
            aux = by_key[normalize_name(var.name)]
            if isinstance(value, Mapping):
                cells = {normalize_name(e.subscript): e for e in aux.element_equations}
                new = []
                for key, default in var.default.items():
                    v = value.get(key, cells[normalize_name(key)].equation if normalize_name(key) in cells else default)
                    old = cells.get(normalize_name(key))
                    new.append(replace(old, equation=repr(float(v))) if old is not None else None)
                if any(n is None for n in new):
                    raise SDModelError(f"cannot set {var.name!r} per element in Simlin")
                patch.upsert(replace(aux, element_equations=tuple(new), equation=""))
            else:
                patch.upsert(replace(aux, equation=repr(float(value))))


def analyze_loops(model: str | Path, scenario: Scenario | None = None, *, start: float | None = None,
                  end: float | None = None, loops_file: str | Path = DEFAULT_LOOPS,
                  timeout: float = 60.0) -> LoopAnalysis:
    """Discover the loops that matter in one run and measure their share of behaviour by period.

    Parameters
    ----------
    model : path of the Vensim model.
    scenario : Scenario, optional; its constants and final time are used (default: the model's).
    start, end : float, optional
        Window (Year) for the table and the periods; default the whole run. ``end`` beyond the
        model's FINAL TIME extends the run.
    loops_file : the named loops TOML.
    timeout : seconds allowed for Simlin's candidate search.

    Raises
    ------
    SDModelError
        For a bad window, scenario or loops file, or if Simlin cannot analyse the model.
    """
    import simlin

    info = read_model_info(model)
    scenario = validate(scenario or Scenario(), info)
    named = load_named_loops(loops_file)
    final = scenario.final_time if scenario.final_time is not None else info.final_time
    start = info.initial_time if start is None else float(start)
    end = final if end is None else float(end)
    if not (info.initial_time <= start < end <= max(final, info.final_time)):
        raise SDModelError(f"bad year range {start:g}-{end:g}: need {info.initial_time:g} <= --from < --to <= "
                           f"{max(final, info.final_time):g} (the run's final year)")
    final = end  # the run stops at the window's end (discovery then samples the loops of that span)
    try:
        m = simlin.load(str(model))
        if m.project is None:
            raise SDModelError(f"Simlin loaded {model} without a project")
        m.project.set_sim_specs(start=info.initial_time, stop=final, dt=scenario.time_step or info.time_step,
                                save_step=info.saveper, sim_method="euler")
        _bake(m, scenario, info)
        an = m.analyze(timeout=timeout)
    except simlin.SimlinError as exc:
        raise SDModelError(f"Simlin could not analyse the loops of {model}: {exc}") from None
    if an.analysis_error:
        raise SDModelError(f"Simlin could not analyse the loops of {model}: {an.analysis_error}")
    n = max((len(lp.behavior_time_series) for lp in an.loops if lp.behavior_time_series is not None), default=0)
    times = info.initial_time + info.saveper * np.arange(n)
    pers = periods(start, end)
    stocks = {normalize_name(s) for s in info.stocks()}
    named_sets = {nl.name: {normalize_name(v) for v in nl.variables} for nl in named}
    rows, series = [], {}
    window = (times >= start) & (times <= end)
    for lp in an.loops:
        if lp.behavior_time_series is None:
            continue
        s = np.nan_to_num(lp.behavior_time_series, nan=0.0)
        series[lp.id] = s
        shares = tuple(float(np.mean(np.abs(s[(times >= a) & (times < b)]))) if np.any((times >= a) & (times < b))
                       else 0.0 for a, b in pers)
        on = {_strip(v) for v in lp.variables}
        match = ", ".join(k for k, vs in named_sets.items() if vs <= on)
        rows.append(LoopRow(lp.id, _label(lp.variables, stocks), str(lp.polarity), match,
                            float(np.mean(np.abs(s[window]))) if window.any() else 0.0, shares, lp.variables))
    rows.sort(key=lambda r: -r.importance)
    dominant = []
    for k in range(len(pers)):
        top = sorted(rows, key=lambda r: -r.shares[k])[:3]
        dominant.append(tuple(r.id for r in top))
    members = {k: [r for r in rows if k in r.named.split(", ")] for k in named_sets}
    families = {k: tuple(float(sum(r.shares[i] for r in rs)) for i in range(len(pers))) for k, rs in members.items()}
    reinforcing = {k: tuple(float(sum(r.shares[i] for r in rs if r.polarity.startswith("R"))) for i in range(len(pers)))
                   for k, rs in members.items()}
    missing = tuple(k for k, rs in members.items() if not rs)
    return LoopAnalysis(scenario.name, (start, end), tuple(pers), tuple(rows), tuple(dominant), times, series,
                        bool(an.enumeration_complete), bool(an.truncated), missing, families,
                        {k: len(rs) for k, rs in members.items()}, reinforcing)
