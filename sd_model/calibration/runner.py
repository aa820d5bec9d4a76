"""``calibrate``: estimate the parameters of a calibration file and write the results.

>>> from sd_model.calibration import calibrate
>>> result = calibrate("experiments/calibration/default.toml", out="results/calibration",
...                    workers=2, progress=True)                    # doctest: +SKIP
>>> result.parameters[["parameter", "estimate", "ci_low", "ci_high"]]  # doctest: +SKIP
"""
from __future__ import annotations

import sys
import time
from contextlib import nullcontext
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from collections.abc import Callable

import numpy as np
import pandas as pd
import xarray as xr

from ..executor import dask_client
from ..files import atomic_dir, atomic_write_json, atomic_write_text, stamp_manifest
from ..manifest import build_manifest
from ..mdl import read_model_info
from ..run import DEFAULT_MODEL
from ..scenario import load_scenario, validate
from .config import METHODS, UNCERTAINTY, CalibrationConfig, CalibrationError, load_config
from .evaluate import Evaluator, compile_runner, run_one
from .optimize import LocalFit, Space, global_fit, jacobian, multistart
from .problem import Problem, build_problem
from .report import NAIVE_WINDOW, check_targets, fit_table, markdown_table, overlay_toml, write_plots
from .store import CHECKPOINT, EvaluationStore, fingerprint, prepare_output
from .targets import config_observations
from .uncertainty import Uncertainty, bootstrap_bounds, jacobian_bounds

#: Distance (unit-cube) within which an estimate is put exactly on its bound.
SNAP = 1e-9


@dataclass
class CalibrationResult:
    """What a calibration found; tables are also written to the output folder.

    Attributes
    ----------
    x : ndarray
        Best parameter vector (parameter units, order of ``problem.parameters``).
    payoff : float
        Sum of squared weighted normalised residuals at ``x`` (lower is better).
    parameters, fit, targets, starts : pandas.DataFrame
        Estimates with bounds and flags; fit statistics per series, region and period;
        target checks; one row per optimiser run.
    runs, replayed : int
        Model runs made, and evaluations answered from the checkpoint.
    seconds : float
        Wall-clock time.
    out : Path or None
        Output folder.
    """

    problem: Problem
    x: np.ndarray
    payoff: float
    parameters: pd.DataFrame
    fit: pd.DataFrame
    targets: pd.DataFrame
    starts: pd.DataFrame
    uncertainty: Uncertainty
    simulated: dict[str, np.ndarray] = field(repr=False)
    runs: int = 0
    replayed: int = 0
    seconds: float = 0.0
    out: Path | None = None


def problem_key(problem: Problem) -> str:
    """Fingerprint of everything that defines the payoff function (for the checkpoint)."""
    parts: list[Any] = [problem.model_sha256, problem.engine, problem.until, problem.span, problem.final_time,
                        sorted((k, repr(v)) for k, v in problem.base_params.items()),
                        [(p.label, p.name, p.elements, p.lower, p.upper) for p in problem.parameters]]
    for s in problem.series:
        parts += [repr(s.spec.__dict__ | {"line": 0}), s.model, s.model_denominator, s.regions, s.obs, s.scale]
    return fingerprint(*parts)


def calibrate(config: str | Path | CalibrationConfig, *, out: str | Path | None = None, until: int | None = None,
              method: str | None = None, resume: bool = False, workers: int = 1, seed: int | None = None,
              uncertainty: str | None = None, starts: int | None = None, model: str | Path | None = None,
              observations: xr.Dataset | None = None, progress: bool = False, engine: str = "simlin",
              callback: Callable[[Evaluator], None] | None = None, force: bool = False,
              scheduler: Any = None) -> CalibrationResult:
    """Estimate the parameters of a calibration file.

    Parameters
    ----------
    config : path or CalibrationConfig
        The calibration file (see :mod:`sd_model.calibration.config`).
    out : path, optional
        Output folder: results, report, plots, manifest and the checkpoint
        (``checkpoint/``, written after every batch of evaluations). Default is None:
        nothing is written and nothing is checkpointed.
    until : int, optional
        Last in-sample year; later years are reported out-of-sample. Default: span end.
    method : {"local", "global", "none"}, optional
        Multi-start least squares, differential evolution then least squares, or only
        evaluate the start values. Default: the file's ``[optimizer] method``.
    resume : bool
        Continue from the checkpoint in ``out``. Default is False.
    workers : int
        Worker processes for the model runs (with ``scheduler``: the tasks each batch is split
        into). Default is 1.
    seed : int, optional
        Seed of the start points, the evolution and the bootstrap. Default: the file's.
    uncertainty : {"jacobian", "bootstrap"}, optional
        Bounds from the Jacobian only, or also from a residual bootstrap. Default: the file's.
    starts : int, optional
        Number of least-squares starts. Default: the file's.
    model : path, optional
        The Vensim model. Default is the shipped model.
    observations : xarray.Dataset, optional
        Data to fit instead of :func:`sd_model.data.load_observations` (e.g. synthetic).
    progress : bool
        Show a progress bar. Default is False.
    engine : {"simlin", "pysd"}
        Engine of the model runs. Default is "simlin"; "pysd" (the reference) takes about
        two minutes per run of the full span.
    callback : callable, optional
        ``callback(evaluator)`` after every batch of model runs.
    force : bool
        Replace ``out`` even if it holds files this tool did not write (it is deleted
        first). Default is False: such a folder is refused.
    scheduler : str or dask.distributed.Client, optional
        Run the model on this Dask cluster (an address such as ``"tcp://127.0.0.1:8786"`` or a
        Client) instead of local worker processes. Default is None (local). Results do not depend on it.

    Returns
    -------
    CalibrationResult

    Raises
    ------
    CalibrationError, sd_model.errors.SDModelError
        For invalid files, names, data, or a checkpoint of another calibration.
    """
    t0 = time.perf_counter()
    cfg = config if isinstance(config, CalibrationConfig) else load_config(config)
    given = {"method": method, "seed": seed, "uncertainty": uncertainty, "starts": starts}
    opt = {**cfg.optimizer, **{key: value for key, value in given.items() if value is not None}}
    for key, valid in (("method", METHODS), ("uncertainty", UNCERTAINTY)):
        if opt[key] not in valid:
            raise CalibrationError(f"unknown {key} {opt[key]!r}; valid: {', '.join(valid)}")
    info = read_model_info(model if model is not None else DEFAULT_MODEL)
    obs = observations if observations is not None else config_observations(cfg)
    problem = build_problem(cfg, info, obs, until, engine=engine)
    # connect to a Dask cluster before writing anything: an unreachable one leaves no output folder
    client, own_client = dask_client(scheduler) if scheduler is not None else (None, False)  # type: Any, bool
    with client if own_client else nullcontext():  # a Client closes itself on exit
        out_path = Path(out) if out is not None else None
        if out_path is not None:
            prepare_output(out_path, resume=resume, force=force)
            (out_path / CHECKPOINT).mkdir(parents=True, exist_ok=True)
        space = Space(problem.lower, problem.upper)
        n = len(problem.parameters)
        store = EvaluationStore(out_path / CHECKPOINT if out_path else None, problem_key(problem), n,
                                problem.n_residuals, resume=resume)
        with Evaluator(problem, store, workers=workers, progress=progress, callback=callback,
                       scheduler=client) as ev:
            common = {"max_nfev": opt["max_nfev"], "diff_step": opt["diff_step"]}
            if opt["method"] == "local":
                fits = multistart(ev, space, problem.start, starts=opt["starts"], seed=opt["seed"], **common)
            elif opt["method"] == "global":
                fits = global_fit(ev, space, problem.start, seed=opt["seed"], popsize=opt["popsize"],
                                  maxiter=opt["maxiter"], **common)
            else:
                x0 = problem.start
                r = ev.residuals(x0[None])[0]
                fits = [LocalFit(start=0, x0=x0, x=x0, payoff=float(r @ r), nfev=1, status=0,
                                 message="start values evaluated, not optimised")]
            best = min(fits, key=lambda f: f.payoff)
            z = space.z(best.x)  # estimates within 1e-9 of a bound (trf stays strictly inside) are put on it
            x = space.x(np.where(z < SNAP, 0.0, np.where(z > 1 - SNAP, 1.0, z)))
            ev.stage = "jacobian"
            r = ev.residuals(x[None])[0]
            z = space.z(x)
            jac_z = jacobian(ev, space, z, opt["diff_step"], r0=r)
            unc = jacobian_bounds(x, r, jac_z, space)
            if opt["uncertainty"] == "bootstrap":
                low, high, _ = bootstrap_bounds(ev, space, x, r, problem.residual_groups(),
                                                replicates=opt["bootstrap"], seed=opt["seed"], **common)
                unc = replace(unc, boot_low=low, boot_high=high, boot_n=opt["bootstrap"], method="jacobian+bootstrap")
            runs, replayed = ev.runs, ev.replayed
    simulated = problem.simulated(run_one(compile_runner(problem), problem.params(x)))
    payoff = float(r @ r)
    result = CalibrationResult(problem=problem, x=x, payoff=payoff, parameters=_parameter_table(problem, x, unc),
                               fit=(table := fit_table(problem, simulated)),
                               targets=check_targets(cfg.targets, table), starts=_starts_table(problem, fits),
                               uncertainty=unc, simulated=simulated, runs=runs, replayed=replayed, out=out_path,
                               seconds=time.perf_counter() - t0)
    if out_path is not None:
        _write_outputs(result, cfg, info, opt, out_path)
    return result


def _parameter_table(problem: Problem, x: np.ndarray, unc: Uncertainty) -> pd.DataFrame:
    rows = []
    for i, p in enumerate(problem.parameters):
        row = {"parameter": p.label, "units": p.units, "lower": p.lower, "upper": p.upper, "start": p.start,
               "estimate": float(x[i]), "std_error": float(unc.se[i]), "ci_low": float(unc.low[i]),
               "ci_high": float(unc.high[i])}
        if unc.boot_low is not None:
            row.update(boot_low=float(unc.boot_low[i]), boot_high=float(unc.boot_high[i]))  # type: ignore[index]
        row["flag"] = unc.flags[i]
        rows.append(row)
    return pd.DataFrame(rows)


def _starts_table(problem: Problem, fits: list[LocalFit]) -> pd.DataFrame:
    x0, x = [f"x0:{p.label}" for p in problem.parameters], [f"x:{p.label}" for p in problem.parameters]
    rows = [{"start": f.start, "payoff": f.payoff, "nfev": f.nfev, "status": f.status, "message": f.message,
             **dict(zip(x0, f.x0)), **dict(zip(x, f.x))} for f in fits]
    return pd.DataFrame(rows)


def _write_outputs(result: CalibrationResult, cfg: CalibrationConfig, info: Any, opt: dict, out: Path) -> None:
    problem = result.problem
    name = f"{cfg.name}-calibrated" + (f"-until{problem.until}" if problem.until < problem.span[1] else "")
    description = (f"Parameters estimated by 'sd-model calibrate' from {cfg.path.name} "
                   f"(method {opt['method']}, fit {problem.span[0]}-{problem.until}, payoff {result.payoff:.6g}).")
    text = overlay_toml(problem, result.x, name=name, description=description, base=cfg.base, folder=out)
    atomic_write_text(out / "calibrated.toml", text)
    scenario = validate(load_scenario(out / "calibrated.toml"), info)  # the overlay must load and validate
    atomic_write_text(out / "parameters.csv", result.parameters.to_csv(index=False))
    atomic_write_text(out / "fit_statistics.csv", result.fit.to_csv(index=False))
    atomic_write_text(out / "targets.csv", result.targets.to_csv(index=False))
    atomic_write_text(out / "starts.csv", result.starts.to_csv(index=False))
    labels = [p.label for p in problem.parameters]
    atomic_write_text(out / "correlation.csv",
                      pd.DataFrame(result.uncertainty.correlation, index=labels, columns=labels).to_csv())
    with atomic_dir(out / "plots", None) as tmp:  # inside the checked calibration folder
        write_plots(problem, result.simulated, tmp)
    atomic_write_text(out / "fit_report.md", markdown_report(result, cfg, opt))
    extra = {"calibration": {"config": str(cfg.path), "until": problem.until, "span": list(problem.span),
                             "method": opt["method"], "optimizer": opt, "payoff": result.payoff,
                             "runs": result.runs, "replayed": result.replayed, "seconds": round(result.seconds, 1),
                             "estimates": dict(zip(labels, map(float, result.x)))}}
    atomic_write_json(out / "manifest.json",
                      build_manifest(info, scenario, problem.engine, seed=opt["seed"], extra=extra))
    stamp_manifest(out, "calibrate", exclude=(CHECKPOINT,))


def markdown_report(result: CalibrationResult, cfg: CalibrationConfig, opt: dict) -> str:
    """The fit report: command, targets, statistics per series and region, estimates, starts."""
    p = result.problem
    fit = result.fit
    command = ' '.join(['sd-model', *sys.argv[1:]]) if sys.argv and 'sd-model' in sys.argv[0] \
        else 'calibrate()'
    lines = [f"# Calibration report: {cfg.name}", "",
             f"- command: `{command}`",
             f"- configuration: `{cfg.path}`; model sha256 `{p.model_sha256[:12]}`",
             f"- in-sample years {p.span[0]}-{p.until}" + (f"; out-of-sample {p.until + 1}-{p.span[1]}"
                                                         if p.until < p.span[1] else "; no out-of-sample years"),
             f"- method {opt['method']} (starts {opt['starts']}, seed {opt['seed']}); payoff {result.payoff:.6g} "
             f"over {p.n_residuals} residuals; {result.runs} model runs, {result.replayed} replayed from the "
             f"checkpoint; {result.seconds:.0f} s",
             f"- uncertainty: {result.uncertainty.method}; condition number of the scaled Jacobian "
             f"{result.uncertainty.condition:.3g}; residual variance s² = {result.uncertainty.s2:.4g} "
             f"({result.uncertainty.dof} degrees of freedom)", ""]
    if len(result.targets):
        t = result.targets.copy()
        t["threshold"] = [" and ".join(([f">= {b:g}"] if b is not None and b == b else [])  # NaN != NaN
                                       + ([f"<= {a:g}"] if a is not None and a == a else []))
                          for a, b in zip(t["max"], t["min"])]
        t["result"] = ["n/a" if v is None else ("pass" if v else "FAIL") for v in t["pass"]]
        lines += ["## Targets", "", markdown_table(t, ["series", "region", "period", "statistic", "value",
                                                         "threshold", "result"]), ""]
    lines += ["## Fit statistics", "",
              "MAPE as a fraction; RMSE and max |error| in the series' units (levels for log series); "
              "U^M, U^S, U^C: Theil's bias, unequal variation and unequal covariation shares of the MSE.", ""]
    for period in ("in-sample", "out-of-sample"):
        sub = fit[fit["period"] == period]
        if len(sub):
            cols = ["series", "region", "first_year", "last_year", "n", "mape", "rmse", "r2", "um", "us", "uc",
                    "max_abs_error", "weight"]
            note = []
            if period == "out-of-sample":
                cols[6:6] = ["naive_mape", "relative_mape", "rebased_mape"]
                note = [f"naive_mape: MAPE of the naive forecast from {p.until} (log series: the {p.until} value "
                        f"grown at its compound growth of {p.until - NAIVE_WINDOW}-{p.until}; other series: the "
                        f"{p.until} value unchanged); relative_mape: the model's MAPE over it (below 1: the model "
                        f"forecasts better); rebased_mape (log series): the model's path scaled to the data in "
                        f"{p.until}.", ""]
            lines += [f"### {period}", "", *note, markdown_table(sub, cols), ""]
    cols = ["parameter", "lower", "upper", "start", "estimate", "std_error", "ci_low", "ci_high"]
    if "boot_low" in result.parameters:
        cols += ["boot_low", "boot_high"]
    lines += ["## Parameter estimates", "",
              "95% bounds from the Jacobian at the optimum (s²(JᵀJ)⁻¹, t distribution); residuals of annual "
              "series are autocorrelated, so these bounds are optimistic."
              + (" Bootstrap: percentile bounds of residual block-bootstrap refits." if "boot_low" in cols else ""),
              "", markdown_table(result.parameters, cols + ["flag"]), ""]
    lines += ["## Optimiser runs", "", markdown_table(result.starts, ["start", "payoff", "nfev", "status", "message"]),
              "", "Files: `calibrated.toml` (scenario overlay for `sd-model run --scenario`), `parameters.csv`, "
              "`fit_statistics.csv`, `targets.csv`, `starts.csv`, `correlation.csv`, `plots/*.png`, "
              "`manifest.json`, `checkpoint/` (evaluations, for `--resume`).", ""]
    return "\n".join(lines)
