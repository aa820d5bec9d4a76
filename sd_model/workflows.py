"""Workflows that write a whole output folder: what each ``sd-model`` command does, callable from a notebook.

Each function checks its inputs before running anything, writes its folder atomically (it
appears only when complete) and returns what the command prints.

>>> from sd_model.workflows import compare                                  # doctest: +SKIP
>>> result = compare(["historical", "balanced"], out="results/compare", samples=100)  # doctest: +SKIP
>>> result.sentences[0]                                                      # doctest: +SKIP
"""
from __future__ import annotations

import os
import shutil
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pandas as pd
import xarray as xr

from .budget import check_times
from .draws import (check_parameter_sets, draws_from_calibration, ranges_from_calibration, read_calibration_correlation,
                    read_calibration_estimates)
from .engines import DEFAULT_ENGINE, DEFAULT_ENSEMBLE_ENGINE
from .engines.base import row_params
from .ensemble import EnsembleWarning, run_ensemble
from .errors import SDModelError
from .experiments import drop_failed, prepare_scenarios, run_ensembles, run_scenarios, store_key
from .ensemble_store import STORE_FOLDER, prepare_output
from .files import (atomic_dir, atomic_write_bytes, atomic_write_json, atomic_write_text, check_replaceable,
                    stamp_manifest)
from .indicators import beat_shares, ensemble_table, indicator_table
from .manifest import build_manifest, load_manifest, scenario_from_manifest
from .mdl import read_model_info
from .observed import load_observed
from .parameters import Parameter
from .plotting import figure_png, standard_plots
from .report import build_report, findings
from .resources import DEFAULT_MODEL, EXPERIMENTS_DIR
from .results import FORMATS, max_relative_difference, read_results, tidy, write_results
from .run import load_engine, run
from .runspec import resolve_outputs
from .sampling import load_ranges, sample_parameters
from .scenario import Scenario, load_scenario
from .structure.report_section import structure_section

__all__ = ["run_to_folder", "rerun", "Rerun", "compare", "Comparison", "ensemble_to_folder", "sensitivity_to_folder"]

#: Seed of every sampled workflow unless given.
DEFAULT_SEED = 1
DEFAULT_RANGES = EXPERIMENTS_DIR / "ranges" / "default.toml"


def run_to_folder(scenario_files: Sequence[Path], out: Path, *, until: float | None = None, fmt: str = "csv",
                  plots: bool = True, engine: str = DEFAULT_ENGINE, model: Path = DEFAULT_MODEL,
                  force: bool = False, outputs: Sequence[str] | None = None) -> list[tuple[str, xr.Dataset, Path]]:
    """Run scenarios (the model's own values if none) into ``out/<name>``: results, manifest, plots.

    Every scenario and every target folder is checked before anything runs: an existing
    ``out/<name>`` is replaced only if ``run`` wrote it (see :func:`sd_model.files.ownership_problem`),
    or with ``force``. ``outputs`` limits the variables written (the plots draw their own, with the
    1978-2015 data as dots). Returns (name, results, folder) per scenario.
    """
    eng = load_engine(engine, model)
    written = None if outputs is None else list(resolve_outputs(eng.info, outputs))
    loaded = [load_scenario(p) for p in scenario_files] or [Scenario(name="default")]
    specs = [s.resolve(eng.info, until=until) for s in loaded]
    names = [s.name for s in specs]
    if len(set(names)) != len(names):
        raise SDModelError(f"two scenarios share a name: {names}")
    for spec in specs:  # refuse before running anything
        check_replaceable(out / spec.name, "run", force)
        t = spec.times
        check_times(eng.name, eng.info, t, f"{spec.name}: a run from {t.initial:g} to {t.final:g}", fmt=fmt,
                    outputs=written)
    done = []
    for spec in specs:
        ds = run(spec, eng)
        _write_run(ds if written is None else ds[written], ds, out / spec.name, "run", eng, spec.scenario, fmt,
                   plots, force)
        done.append((spec.name, ds, out / spec.name))
    return done


def _write_run(written: xr.Dataset, ds: xr.Dataset, target: Path, kind: str, eng: Any, scenario: Scenario, fmt: str,
               plots: bool, force: bool, extra: dict[str, Any] | None = None) -> None:
    """Write one run's folder atomically: ``written`` as results, its manifest, the plots of ``ds``."""
    with atomic_dir(target, kind, force) as tmp:
        write_results(written, tmp, fmt)
        atomic_write_json(tmp / "manifest.json", build_manifest(eng.info, scenario, eng.name,
                                                                extra={"format": fmt, **(extra or {})}))
        if plots:
            standard_plots(ds, tmp / "plots", load_observed())  # history drawn as dots on the plots


@dataclass(frozen=True)
class Rerun:
    """What :func:`rerun` wrote.

    The scenario's ``name``, the ``target`` folder, and the largest relative ``difference`` from the
    recorded results over ``values`` values (None: no results recorded beside the manifest).
    """

    name: str
    target: Path
    difference: float | None = None
    values: int = 0


def rerun(manifest: Path, out: Path | None = None, *, engine: str | None = None, fmt: str | None = None,
          allow_model_change: bool = False, plots: bool = True, force: bool = False,
          model: Path = DEFAULT_MODEL) -> Rerun:
    """Repeat the run recorded in ``manifest`` (a manifest.json or its folder) exactly, and compare.

    Uses every constant value and the time settings the manifest records, checks that the model
    file is the one recorded (SHA-256; ``allow_model_change`` to run the recorded values on another
    one), and writes ``out`` (default: the recorded folder's name with ``-rerun``, beside it), never
    over the recorded results it is compared with. ``engine`` and ``fmt`` default to the recorded ones.
    """
    recorded = load_manifest(manifest)
    folder = manifest if manifest.is_dir() else manifest.parent
    eng = load_engine(engine or recorded["engine"], model)
    spec = scenario_from_manifest(recorded, eng.info, allow_model_change=allow_model_change,
                                  where=str(manifest)).resolve(eng.info)
    fmt = fmt or recorded.get("format", "csv")
    if fmt not in FORMATS:
        raise SDModelError(f"{manifest}: recorded format {fmt!r} is not one of {', '.join(FORMATS)}; "
                           "give --format")
    target = out if out is not None else folder.parent / f"{folder.name}-rerun"
    here, there = folder.resolve(), target.resolve()
    if there == here or there in here.parents:
        raise SDModelError(f"--out {target} would replace the recorded results in {folder} that the rerun is "
                           "checked against; choose another --out")
    check_replaceable(target, "rerun", force)
    ds = run(spec, eng)
    _write_run(ds, ds, target, "rerun", eng, spec.scenario, fmt, plots, force, {"rerun_of": str(manifest)})
    try:
        original = read_results(folder)
    except FileNotFoundError:
        return Rerun(spec.name, target)
    diff, n = max_relative_difference(tidy(ds), original)
    return Rerun(spec.name, target, diff, n)


def _relative(path: str | Path, folder: Path) -> str:
    """``path`` as a report in ``folder`` shows it: relative to that folder, never absolute."""
    return os.path.relpath(Path(path).resolve(), folder.resolve())


def _draws(samples: int, seed: int, ranges: Path | None, calibration: Path | None, info: Any,
           posterior: Path | None = None, shown: Callable[[str | Path], str] = str,
           method: str = "lhs") -> tuple[pd.DataFrame | None, dict[str, float], list[str], str]:
    """Parameter draws, the calibration's central values, notes, and a description of the source.

    ``shown`` writes the paths in that description (e.g. relative to the output folder); ``method``
    samples the ranges (:data:`sd_model.sampling.METHODS`).
    """
    if posterior is not None:
        from .bayes.draws import draws_from_posterior

        draws, central, notes = draws_from_posterior(posterior, samples, seed, info.sha256)
        if not samples:
            return None, central, notes, f"posterior medians in {shown(posterior)}"
        return draws, central, notes, f"joint posterior draws from {shown(posterior)}"
    if calibration is not None:
        estimates = read_calibration_estimates(calibration)
        central = dict(zip(estimates["parameter"].astype(str), estimates["estimate"].astype(float)))
        if not samples:
            return None, central, [], f"calibration estimates in {shown(calibration)}"
        correlation = read_calibration_correlation(calibration)
        draws, notes = draws_from_calibration(estimates, samples, seed, info, correlation)
        how = "correlated " if correlation is not None else ""
        return draws, central, notes, f"{how}split normal from the 95% bounds in {shown(calibration)}"
    if not samples:
        return None, {}, [], "none (single runs)"
    path = ranges or DEFAULT_RANGES
    if not Path(path).is_file():
        raise SDModelError(f"{path}: ranges file not found; give --ranges FILE or --from-calibration DIR")
    source = f"uniform ({'Latin hypercube' if method == 'lhs' else 'independent draws'}) in {shown(path)}"
    return sample_parameters(load_ranges(path, info), samples, seed, method), {}, [], source


@dataclass
class Comparison:
    """Everything :func:`compare` computed (and wrote)."""

    runs: dict[str, xr.Dataset]
    table: pd.DataFrame
    sentences: list[str]
    notes: list[str] = field(default_factory=list)
    ensembles: dict[str, xr.Dataset] | None = None


def compare(scenarios: Sequence[str | Path], out: Path, *, until: float | None = None, samples: int = 0,
            seed: int = DEFAULT_SEED, ranges: Path | None = None, calibration: Path | None = None,
            posterior: Path | None = None, fmt: str = "parquet", engine: str = DEFAULT_ENGINE,
            ensemble_engine: str = DEFAULT_ENSEMBLE_ENGINE,
            model: Path = DEFAULT_MODEL, workers: int | None = None, scheduler: Any = None,
            progress: bool = True, force: bool = False, structure: bool = False) -> Comparison:
    """Run scenarios side by side (and over common parameter draws) and write the comparison report.

    With ``structure`` the report gains the loop-dominance comparison and the sector views
    (:func:`sd_model.structure.report_section.structure_section`).

    Writes ``out/report.html``, ``indicators.csv``, ``findings.csv``, ``runs/<scenario>.<fmt>`` and
    ``manifest.json``; with ``samples`` also ``indicators_ensemble.csv``, ``beat_shares.csv``,
    ``parameter_sets.csv`` and ``ensembles/<scenario>.<fmt>``. Finished ensemble runs are kept
    in a hidden sibling folder until the report is written, and reused if interrupted.
    With ``posterior`` (``posterior.nc`` of a Bayesian calibration) the draws are joint
    posterior draws and the single runs use the posterior medians.
    """
    if sum(x is not None for x in (ranges, calibration, posterior)) > 1:
        raise SDModelError("give only one of --ranges, --from-calibration and --posterior")
    check_replaceable(out, "compare", force)
    eng = load_engine(engine, model)
    scs = prepare_scenarios(scenarios, eng.info, until)
    draws, central, notes, source = _draws(samples, seed, ranges, calibration, eng.info, posterior,
                                           shown=lambda p: _relative(p, out))
    if draws is not None:
        check_parameter_sets(draws.columns, scs, eng.info)
    central_params = row_params(eng.info, [Parameter.parse(eng.info, key) for key in central], central.values())
    runs = run_scenarios([s.with_params(central_params) for s in scs], eng)
    table = indicator_table(runs)
    ensembles = ens_tab = beats = None
    store_root = out.parent / f".{out.name}.store"
    if draws is not None:
        ensembles = run_ensembles(scs, draws, engine=ensemble_engine, model=model, model_sha=eng.info.sha256,
                                  store_root=store_root, workers=workers, scheduler=scheduler, progress=progress)
        ensembles, dropped = drop_failed(ensembles)
        if dropped:
            notes.append(f"{dropped} of {samples} draws failed in at least one scenario and were left out")
        ens_tab, beats = ensemble_table(ensembles), beat_shares(ensembles)
    roles = {s.name: s.role for s in scs}
    sentences, ftable = findings(runs, ensembles, roles)
    meta = {"model": f"{_relative(eng.info.path, out)} (sha256 {eng.info.sha256[:12]})",
            "engine": engine + (f" (single runs), {ensemble_engine} (sampled runs)" if samples else ""),
            "span": f"{eng.info.initial_time:g}-{float(next(iter(runs.values()))['time'][-1]):g}",
            "draws": f"{samples} per scenario, seed {seed}, {source}" if samples else source}
    doc = build_report(runs, table, sentences, descriptions={s.name: s.description for s in scs}, meta=meta,
                       ensembles=ensembles, ensemble_tab=ens_tab, beats=beats,
                       effects_table=ftable if ensembles is not None else None,
                       reference=next((n for n, r in roles.items() if r == "baseline"), None),
                       sections=[structure_section(model, scs)] if structure else (), observed=load_observed())
    with atomic_dir(out, "compare", force) as tmp:
        atomic_write_text(tmp / "report.html", doc)
        atomic_write_text(tmp / "indicators.csv", table.to_csv(index=False))
        atomic_write_text(tmp / "findings.csv", ftable.to_csv(index=False))
        for name, ds in runs.items():
            write_results(ds, tmp / "runs", fmt, stem=name)
        if ensembles is not None and draws is not None and ens_tab is not None and beats is not None:
            atomic_write_text(tmp / "indicators_ensemble.csv", ens_tab.to_csv(index=False))
            atomic_write_text(tmp / "beat_shares.csv", beats.to_csv(index=False))
            atomic_write_text(tmp / "parameter_sets.csv", draws.to_csv(index_label="member"))
            for name, ds in ensembles.items():
                write_results(ds, tmp / "ensembles", fmt, stem=name)
        extra = {"scenarios": {s.name: s.to_dict() for s in scs}, "samples": samples, "draws": source,
                 "notes": notes, "central_parameters": central, "format": fmt}
        atomic_write_json(tmp / "manifest.json",
                          build_manifest(eng.info, scs[0], engine, seed=seed if samples else None, extra=extra))
    shutil.rmtree(store_root, ignore_errors=True)
    return Comparison(runs, table, sentences, notes, ensembles)


def ensemble_to_folder(out: Path, samples: int, ranges_file: Path | None, outputs: Sequence[str], *,
                       posterior: Path | None = None, scenario_file: Path | None = None, seed: int = DEFAULT_SEED,
                       method: str = "lhs",
                       until: float | None = None, fmt: str = "netcdf", resume: bool = False,
                       engine: str = DEFAULT_ENSEMBLE_ENGINE, model: Path = DEFAULT_MODEL, workers: int | None = None,
                       scheduler: Any = None, progress: bool = True,
                       force: bool = False) -> tuple[xr.Dataset | None, list[str], float]:
    """Sample ``samples`` parameter sets, run them, and write ``out``: ensemble.<nc|parquet>, parameters.csv, manifest.

    Finished chunks stream into ``out/chunks`` so that ``resume=True`` continues an
    interrupted ensemble; ``force`` deletes ``out`` first. What ``out`` may hold is decided
    before anything is written (:func:`sd_model.ensemble_store.prepare_output`). With ``posterior``
    (``posterior.nc`` of a Bayesian calibration) instead of ``ranges_file`` the members are
    joint posterior draws. Returns (results, warnings about failed members, seconds);
    results are None if ``out`` already holds this ensemble, complete.
    """
    if (ranges_file is None) == (posterior is None):
        raise SDModelError("give one of --ranges FILE and --posterior FILE")
    info = read_model_info(model)
    ranges = load_ranges(ranges_file, info) if ranges_file is not None else {}
    scenario = load_scenario(scenario_file) if scenario_file else Scenario(name="default")
    spec = scenario.resolve(info, outputs, until)
    record = {"samples": samples, "seed": seed, "method": method, "ranges_file": str(ranges_file),
              "posterior": None if posterior is None else str(posterior),
              "ranges": {k: list(v) for k, v in ranges.items()}, "outputs": list(outputs), "engine": engine,
              "until": until, "scenario": spec.name}
    if prepare_output(out, record, resume=resume, force=force) == "done":
        return None, [], 0.0
    sets, _, notes, _ = _draws(samples, seed, ranges_file, None, info, posterior, method=method)
    if sets is None:
        raise SDModelError(f"number of samples must be a positive integer, got {samples!r}")
    for note in notes:
        warnings.warn(note, stacklevel=2)
    start = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", EnsembleWarning)
        ds = run_ensemble(scenario, sets, list(outputs), engine=engine, model=model, until=until,
                          store=out / STORE_FOLDER, workers=workers, scheduler=scheduler, progress=progress)
    elapsed = time.perf_counter() - start
    failures = [str(w.message) for w in caught if issubclass(w.category, EnsembleWarning)]
    for w in (w for w in caught if not issubclass(w.category, EnsembleWarning)):
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    path = write_results(ds, out, fmt, stem="ensemble")
    atomic_write_text(out / "parameters.csv",
                      sets.assign(failed=ds["failed"].values, message=ds["message"].values).to_csv())
    extra = {"ensemble": record, "format": fmt, "files": [path.name, "parameters.csv"],
             "failed_members": int(ds.attrs["failed_members"]), "elapsed_seconds": round(elapsed, 3),
             "ensemble_sha256": ds.attrs["ensemble_sha256"], "scheduler": scheduler, "workers": workers}
    atomic_write_json(out / "manifest.json", build_manifest(info, spec.scenario, engine, seed=seed, extra=extra))
    stamp_manifest(out, "ensemble", exclude=(STORE_FOLDER,))
    shutil.rmtree(out / STORE_FOLDER, ignore_errors=True)
    return ds, failures, elapsed


def sensitivity_to_folder(out: Path, outcomes: Sequence[str], *, method: str = "morris", samples: int | None = None,
                          seed: int = DEFAULT_SEED, scenario: str = "historical", ranges: Path | None = None,
                          calibration: Path | None = None, posterior: Path | None = None,
                          engine: str = DEFAULT_ENSEMBLE_ENGINE, model: Path = DEFAULT_MODEL,
                          workers: int | None = None, scheduler: Any = None, progress: bool = True,
                          force: bool = False) -> Any:
    """Global sensitivity (SALib) of ``outcomes`` ("Name@Year", "Name[Region]@Year") written to ``out``.

    Writes sensitivity.csv, design.csv, ranking.png and manifest.json; returns the
    :class:`~sd_model.sensitivity.SensitivityResult`. With ``posterior`` (``posterior.nc`` of a
    Bayesian calibration) the ranges are the 90% posterior intervals.
    """
    from .sensitivity import make_problem, model_evaluator, parse_outcome, plot_ranking, run_sensitivity

    if sum(x is not None for x in (ranges, calibration, posterior)) > 1:
        raise SDModelError("give only one of --ranges, --from-calibration and --posterior")
    check_replaceable(out, "sensitivity", force)
    info = read_model_info(model)
    parsed = [parse_outcome(t) for t in outcomes if t.strip()]
    if not parsed:
        raise SDModelError("--outcomes is empty")
    parsed = [replace(o, variable=info.get(o.variable).name) for o in parsed]  # unknown names fail here
    for o in parsed:
        var = info.get(o.variable)
        elements = [e for d in var.dims for e in info.subscripts[d]]
        if var.dims and o.region not in elements:
            what = f"has no element {o.region!r}" if o.region else "is subscripted"
            raise SDModelError(f"outcome {o.label!r}: {o.variable!r} {what}; name one of {', '.join(elements)}, "
                               f"e.g. '{o.variable}[{elements[0]}]@{o.year:g}'")
        if not var.dims and o.region is not None:
            raise SDModelError(f"outcome {o.label!r}: {o.variable!r} has no subscripts; drop [{o.region}]")
        if not info.initial_time <= o.year <= info.final_time:
            raise SDModelError(f"outcome {o.label!r}: year {o.year:g} is outside the model's span "
                               f"{info.initial_time:g}-{info.final_time:g}")
    sc = load_scenario(scenario).resolve(info, until=max(o.year for o in parsed), levers_in_run=True).scenario
    if posterior is not None:
        from .bayes.draws import ranges_from_posterior

        bounds, source = ranges_from_posterior(posterior), f"90% posterior intervals in {posterior}"
    elif calibration is not None:
        bounds, source = ranges_from_calibration(read_calibration_estimates(calibration)), \
            f"95% bounds in {calibration}"
    else:
        path = ranges or DEFAULT_RANGES
        if not Path(path).is_file():
            raise SDModelError(f"{path}: ranges file not found; give --ranges FILE or --from-calibration DIR")
        bounds, source = load_ranges(path, info), str(path)
    problem = make_problem(bounds)
    check_parameter_sets(list(bounds), [sc], info)
    n = samples or {"morris": 20, "sobol": 256}[method]
    store_root = out.parent / f".{out.name}.store"
    key = store_key(sc, pd.DataFrame(problem["bounds"]).T, [o.label for o in parsed], info.sha256)
    evaluate = model_evaluator(sc, problem["names"], parsed, engine=engine, model=model, workers=workers,
                               scheduler=scheduler, progress=progress, store=store_root / f"{method}-{n}-{seed}-{key}")
    result = run_sensitivity(problem, evaluate, method, n, seed)
    design = pd.DataFrame(result.x, columns=problem["names"]).assign(**{k: v for k, v in result.y.items()})
    with atomic_dir(out, "sensitivity", force) as tmp:
        atomic_write_text(tmp / "sensitivity.csv", result.table.to_csv(index=False))
        atomic_write_text(tmp / "design.csv", design.to_csv(index_label="run"))
        units = {o.label: info.get(o.variable).units for o in parsed}
        atomic_write_bytes(tmp / "ranking.png", figure_png(plot_ranking(result.table, units)))
        extra = {"method": method, "samples": n, "runs": len(result.x), "ranges": source,
                 "bounds": dict(zip(problem["names"], problem["bounds"])), "outcomes": [o.label for o in parsed]}
        atomic_write_json(tmp / "manifest.json", build_manifest(info, sc, engine, seed=seed, extra=extra))
    shutil.rmtree(store_root, ignore_errors=True)
    return result
