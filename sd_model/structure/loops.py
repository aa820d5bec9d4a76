"""Loops That Matter (Schoenberg, Davidsen & Eberlein 2020): discovered loops and the pinned named loops.

Simlin (pysimlin 0.8.5) *discovers* the loops that matter in a run of a model too large for
exhaustive enumeration (``Model.analyze``; ours: at most 200 loops, a sample). The paper's loops
(``vensim/loops.toml``) are *pinned*: each is resolved into its element-level cycles
(:mod:`~sd_model.structure.pinned`) and scored in every run, found by discovery or not. All loop
scores, discovered and pinned, are computed by :class:`~sd_model.structure.link_scores.LinkScorer`
(element link scores from the batch engine's equations, every time step), so one normalisation
holds for all: a loop's relative score is its score over the summed |score| of the discovered
loops and the pinned variants (each distinct cycle once). Simlin's own relative score of each
discovered loop is kept beside ours (``simlin_importance``, ``agreement``): the two differ by
Simlin's normaliser (it sums over more loops than it returns).

Simlin's own pinning (``set_loop_name``) was tried first: on this arrayed model it pins only some of
the named loops, as cycles through all four regions with a zero score (docs/structure.md).
A loop's share of behaviour in a period is its mean |relative score| over the period's time steps;
periods are decades, with 2015 (the end of the data) as a boundary.
"""
from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from ..errors import SDModelError
from ..mdl import normalize_name, read_model_info
from ..resources import resource
from ..scenario import Scenario, validate
from .link_scores import LinkScorer
from .pinned import cycle_of, resolve_named

__all__ = ["NamedLoop", "LoopRow", "NamedResult", "LoopAnalysis", "load_named_loops", "analyze_loops", "periods",
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

    Simlin id, label (its stocks), Simlin's polarity (R, B, Rux, Bux, U), the named loop it is a
    variant of ("" if none), mean |share| in the window, share by period (both from our scores),
    its variables, Simlin's own mean |share| in the window, and at whole years the correlation of
    Simlin's relative score with ours (NaN when either is constant or the loop could not be mapped)
    and their largest absolute difference.
    """

    id: str
    label: str
    polarity: str
    named: str
    importance: float
    shares: tuple[float, ...]
    variables: tuple[str, ...]
    simlin_importance: float = float("nan")
    agreement: float = float("nan")
    simlin_max_diff: float = float("nan")


@dataclass(frozen=True)
class NamedResult:
    """A pinned named loop, every variant scored.

    Attributes
    ----------
    name, expected : the loop's name and the polarity loops.toml expects (R or B).
    variants, active : number of element cycles, and of those with a non-zero score in the window.
    shares : summed mean |share| of the variants, by period.
    signed : summed mean signed relative score of the variants, by period (> 0 reinforcing).
    polarity : measured polarity by period ("R", "B", or "-" when the loop is inactive).
    by_region : {region of the first variable: shares by period}.
    strongest : element labels of the variant with the largest mean |share| in the window.
    series, signed_series : summed |relative score| and summed relative score at each time step.
    family, family_reinforcing, family_count : the wider family: summed share by period of the
        discovered loops that pass through every variable of the loop in any elements (often
        through other regions and side paths), all of them and the R ones; how many there are.
    region_strongest : {region: element labels of its strongest variant}.
    region_links : {region: (from, to, median link score by period) for each link of that variant}.
    """

    name: str
    expected: str
    variants: int
    active: int
    shares: tuple[float, ...]
    signed: tuple[float, ...]
    polarity: tuple[str, ...]
    by_region: dict[str, tuple[float, ...]]
    strongest: tuple[str, ...]
    series: np.ndarray
    signed_series: np.ndarray
    family: tuple[float, ...] = ()
    family_reinforcing: tuple[float, ...] = ()
    family_count: int = 0
    region_strongest: dict[str, tuple[str, ...]] = field(default_factory=dict)
    region_links: dict[str, tuple[tuple[str, str, tuple[float, ...]], ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class LoopAnalysis:
    """Result of :func:`analyze_loops`.

    Discovered loops ranked by importance in the window, the periods, the dominant discovered loop
    ids per period, the time axis (every time step), each discovered loop's relative score, the
    pinned named loops, Simlin's completeness flags, the ids of discovered loops that could not
    be mapped onto the model's elements (left out of the normalisation), and how many loops Simlin
    retained (it returns at most 200 of them and normalises its own scores over all).
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
    named: tuple[NamedResult, ...]
    unmapped: tuple[str, ...]
    retained: int | None = None


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
        if (not isinstance(item.get("name"), str) or not isinstance(item.get("variables"), list)
                or not all(isinstance(v, str) for v in item["variables"]) or len(item["variables"]) < 2):
            raise SDModelError(f"{path}: loop {i} needs a name and a list of at least two variable names")
        if str(item.get("polarity", "")) not in ("R", "B"):
            raise SDModelError(f"{path}: loop {item['name']!r}: polarity must be \"R\" or \"B\"")
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


def _discover(model: str | Path, info, scenario: Scenario, final: float, dt: float, timeout: float):
    import simlin

    try:
        m = simlin.load(str(model))
        if m.project is None:
            raise SDModelError(f"Simlin loaded {model} without a project")
        m.project.set_sim_specs(start=info.initial_time, stop=final, dt=dt, save_step=info.saveper, sim_method="euler")
        _bake(m, scenario, info)
        an = m.analyze(timeout=timeout)
    except simlin.SimlinError as exc:
        raise SDModelError(f"Simlin could not analyse the loops of {model}: {exc}") from None
    if an.analysis_error:
        raise SDModelError(f"Simlin could not analyse the loops of {model}: {an.analysis_error}")
    return an


def _by_period(x: np.ndarray, times: np.ndarray, pers) -> tuple[float, ...]:
    out = []
    for a, b in pers:
        m = (times >= a) & (times < b) if b < pers[-1][1] else (times >= a) & (times <= b)
        out.append(float(np.mean(x[m])) if m.any() else 0.0)
    return tuple(out)


def _named_result(nl: NamedLoop, vs, rels: list[np.ndarray], scorer: LinkScorer, times: np.ndarray, pers,
                  window: np.ndarray, scored: list[LoopRow]) -> NamedResult:
    """Sum a named loop's variants (relative scores ``rels``) by period and region; find its family."""
    absum = sum((np.abs(r) for r in rels), np.zeros(len(times)))
    signed = sum(rels, np.zeros(len(times)))
    sp = _by_period(signed, times, pers)
    strength = [float(np.mean(np.abs(r[window]))) for r in rels]
    by_region: dict[str, tuple[float, ...]] = {}
    region_best: dict[str, int] = {}
    for k, (v, r) in enumerate(zip(vs, rels)):
        home = scorer.label(v.nodes[0]).partition("[")[2].split(",")[0].rstrip("]") or "national"
        prev = by_region.get(home, tuple(0.0 for _ in pers))
        by_region[home] = tuple(a + b for a, b in zip(prev, _by_period(np.abs(r), times, pers)))
        if home not in region_best or strength[k] > strength[region_best[home]]:
            region_best[home] = k
    best = max(range(len(vs)), key=lambda k: strength[k])
    core = {normalize_name(v) for v in nl.variables}
    fam = [r for r in scored if core <= {_strip(v) for v in r.variables}]
    return NamedResult(
        nl.name, nl.polarity, len(vs), sum(bool(np.any(r[window] != 0)) for r in rels),
        _by_period(absum, times, pers), sp, tuple("R" if s > 0 else "B" if s < 0 else "-" for s in sp),
        by_region, tuple(scorer.label(n) for n in vs[best].nodes), absum, signed,
        tuple(float(sum(r.shares[k] for r in fam)) for k in range(len(pers))),
        tuple(float(sum(r.shares[k] for r in fam if r.polarity.startswith("R"))) for k in range(len(pers))),
        len(fam), {h: tuple(scorer.label(n) for n in vs[k].nodes) for h, k in region_best.items()},
        {h: _link_medians(scorer, vs[k].nodes, times, pers) for h, k in region_best.items()})


def _link_medians(scorer: LinkScorer, nodes, times: np.ndarray, pers) -> tuple[tuple[str, str, tuple[float, ...]], ...]:
    out = []
    for a, b in zip(nodes, nodes[1:] + nodes[:1]):
        s = scorer.link_score(a, b)
        med = []
        for p0, p1 in pers:
            m = (times >= p0) & ((times < p1) if p1 < pers[-1][1] else (times <= p1))
            med.append(float(np.median(s[m])) if m.any() else float("nan"))
        out.append((scorer.label(a), scorer.label(b), tuple(med)))
    return tuple(out)


def analyze_loops(model: str | Path, scenario: Scenario | None = None, *, start: float | None = None,
                  end: float | None = None, loops_file: str | Path | Sequence[str | Path] = DEFAULT_LOOPS,
                  timeout: float = 60.0) -> LoopAnalysis:
    """Discover the loops that matter in one run, score them and the named loops, by period.

    Parameters
    ----------
    model : path of the Vensim model.
    scenario : Scenario, optional; its constants and time step are used (default: the model's).
    start, end : float, optional
        Window (Year) for the table and the periods; default the whole run. The run stops at
        ``end`` (beyond the model's FINAL TIME extends it).
    loops_file : the named loops TOML, or several (their loops are scored together in one run, in the
        files' order; a name may appear only once across them).
    timeout : seconds allowed for Simlin's candidate search.

    Raises
    ------
    SDModelError
        For a bad window, scenario or loops file (an unknown variable, a link that is not in the
        equations), or if Simlin cannot analyse the model.
    """
    info = read_model_info(model)
    scenario = validate(scenario or Scenario(), info)
    files = [loops_file] if isinstance(loops_file, (str, Path)) else list(loops_file)
    if not files:
        raise SDModelError("no loops file given: name at least one named-loops TOML")
    by_file = [(f, load_named_loops(f)) for f in files]
    named = [nl for _, nls in by_file for nl in nls]
    first: dict[str, str | Path] = {}
    for f, nls in by_file:
        for nl in nls:
            if nl.name in first:
                raise SDModelError(f"{f}: loop {nl.name!r} is also named in {first[nl.name]}; "
                                   "a loop name may appear once across the loops files")
            first[nl.name] = f
    final = scenario.final_time if scenario.final_time is not None else info.final_time
    start = info.initial_time if start is None else float(start)
    end = final if end is None else float(end)
    if not (info.initial_time <= start < end <= max(final, info.final_time)):
        raise SDModelError(f"bad year range {start:g}-{end:g}: need {info.initial_time:g} <= --from < --to <= "
                           f"{max(final, info.final_time):g} (the run's final year)")
    dt = scenario.time_step or info.time_step
    scorer = LinkScorer(model, scenario.params, final_time=end, time_step=dt)
    variants = {name: vs for f, nls in by_file for name, vs in resolve_named(scorer, nls, where=str(f)).items()}
    an = _discover(model, info, scenario, end, dt, timeout)
    times = scorer.times
    pers = periods(start, end)
    stocks = {normalize_name(s) for s in info.stocks()}
    cycles = {lp.id: cycle_of(scorer, lp.variables) for lp in an.loops}
    raw = {i: scorer.loop_score(c) for i, c in cycles.items() if c is not None}
    seen = {frozenset(c): i for i, c in cycles.items() if c is not None}
    by_key = {k: raw[i] for k, i in seen.items()}
    pinned_raw: dict[str, list[np.ndarray]] = {}
    member: dict[str, str] = {}
    total = sum((np.abs(s) for s in raw.values()), np.zeros(len(times)))
    for name, vs in variants.items():
        pinned_raw[name] = []
        for v in vs:
            key = frozenset(v.nodes)
            if key in seen and seen[key] not in member:
                member[seen[key]] = name
            if key not in by_key:
                by_key[key] = scorer.loop_score(v.nodes)
                total = total + np.abs(by_key[key])
            pinned_raw[name].append(by_key[key])

    def rel(s: np.ndarray) -> np.ndarray:
        return np.divide(s, total, out=np.zeros_like(s), where=total > 0)

    window = (times >= start) & (times <= end)
    years = np.round(times[window]) == times[window]
    rows, series = [], {}
    for lp in an.loops:
        theirs = np.nan_to_num(lp.behavior_time_series) if lp.behavior_time_series is not None else None
        simlin_imp = agree = diff = float("nan")
        if theirs is not None:
            ty = info.initial_time + info.saveper * np.arange(len(theirs))
            tw = (ty >= start) & (ty <= end)
            simlin_imp = float(np.mean(np.abs(theirs[tw]))) if tw.any() else float("nan")
        if lp.id not in raw:
            rows.append(LoopRow(lp.id, _label(lp.variables, stocks), str(lp.polarity), "", float("nan"),
                                tuple(float("nan") for _ in pers), lp.variables, simlin_imp))
            continue
        r = rel(raw[lp.id])
        series[lp.id] = r
        if theirs is not None:
            mine_y = r[window][years]
            ty_sel = np.isin(ty, times[window][years])
            if len(mine_y) == ty_sel.sum():
                diff = float(np.max(np.abs(mine_y - theirs[ty_sel]))) if len(mine_y) else diff
                if mine_y.std() > 1e-6 and theirs[ty_sel].std() > 1e-6:
                    agree = float(np.corrcoef(mine_y, theirs[ty_sel])[0, 1])
        rows.append(LoopRow(lp.id, _label(lp.variables, stocks), str(lp.polarity), member.get(lp.id, ""),
                            float(np.mean(np.abs(r[window]))), _by_period(np.abs(r), times, pers), lp.variables,
                            simlin_imp, agree, diff))
    rows.sort(key=lambda r: -(r.importance if r.importance == r.importance else -1.0))
    dominant = []
    for k in range(len(pers)):
        top = sorted((r for r in rows if r.id in series), key=lambda r: -r.shares[k])[:3]
        dominant.append(tuple(r.id for r in top))
    results = tuple(_named_result(nl, variants[nl.name], [rel(s) for s in pinned_raw[nl.name]], scorer, times, pers,
                                  window, [r for r in rows if r.id in series]) for nl in named)
    return LoopAnalysis(scenario.name, (start, end), tuple(pers), tuple(rows), tuple(dominant), times, series,
                        bool(an.enumeration_complete), bool(an.truncated), results,
                        tuple(i for i, c in cycles.items() if c is None), getattr(an, "retained_loops", None))
