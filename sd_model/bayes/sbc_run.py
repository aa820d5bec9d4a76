"""Simulation-based calibration of a calibration file, end to end (``sd-model sbc``).

:func:`prepare` sets up the SBC the way ``sd-model calibrate --method bayes`` fits real data:
the constants the data identify are sampled (the others fixed at their least-squares values),
the error terms too; the true values and priors come from the Laplace approximation of the
real-data posterior (``matched``: normal priors at its means and sds, truncated to the bounds,
and the true values drawn from them, the SBC of the theory; otherwise the file's priors, true
values drawn from the approximation); each fit starts from the Laplace approximation found from
its true values, as the real fit starts from the least-squares estimates. :func:`sbc_tables`
runs the fits (:func:`sd_model.bayes.sbc.sbc`) on any likelihood, and :func:`write_sbc` writes
the tables, the rank histograms and a manifest. :func:`laplace_check` is the yardstick: the
Laplace approximation's intervals on the same data sets.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from ..errors import SDModelError
from ..files import MANIFEST, OutputError, atomic_write_text, resumable_problem, stamp_manifest
from .likelihood import Likelihood
from .sbc import SBCSettings, laplace_dataset, sbc, sbc_coverage
from .sbc_plots import plot_rank_histograms

#: Source text of the matched priors. It enters the priors' text and so the fingerprint of every
#: SBC folder; kept as first written (by ``scripts/bayes_sbc.py``) so that folders made then resume.
MATCHED_SOURCE = "Laplace approximation of the real-data posterior (scripts/bayes_sbc.py)"

#: Draws of the real-data Laplace approximation whose means and sds give the matched priors.
MATCHED_DRAWS = 4000

#: What an SBC keeps while it runs (not in the manifest's record: it changes until the end).
_STATE = ("sbc_meta.json", "datasets", "chains")
#: Every top-level entry an SBC folder may hold.
_OUTPUTS = frozenset(_STATE + (MANIFEST, "sbc.csv", "coverage.csv", "rank_histograms.png", "laplace.csv",
                               "laplace_coverage.csv", "laplace_rank_histograms.png"))


@dataclass(frozen=True)
class SBCSetup:
    """What the fits of an SBC share: the likelihood they fit, its runner and the fits' options.

    ``options`` are keyword arguments of :func:`sd_model.bayes.sbc.sbc` (``init``, ``burn``,
    ``cap`` and, unless the priors are matched, ``truths``); ``fixed`` the constants fixed at
    their least-squares values.
    """

    likelihood: Likelihood
    runner: Any
    options: dict[str, Any]
    fixed: tuple[str, ...]


@dataclass(frozen=True)
class SBCResult:
    """Rows of an SBC (one per data set and parameter), its coverage table and its settings."""

    table: pd.DataFrame
    coverage: pd.DataFrame
    walkers: int
    steps: int
    seconds: float

    @property
    def worst_r_hat(self) -> pd.Series:
        """Each data set's largest R-hat over its parameters."""
        return self.table.groupby("dataset")["r_hat"].max()

    def summary(self) -> str:
        """One line: data sets, overall coverage, converged fits."""
        fits = self.worst_r_hat
        return (f"{len(fits)} data sets, {self.walkers} walkers x {self.steps} steps each, {self.seconds:.0f} s; "
                f"overall 90% coverage {self.table['inside90'].mean():.3f}, by parameter "
                f"{self.coverage['coverage90'].min():.2f}-{self.coverage['coverage90'].max():.2f}; fits with every "
                f"R-hat < 1.05: {int((fits < 1.05).sum())} of {len(fits)} (worst {fits.max():.3f})")


def check_out(out: str | Path) -> None:
    """Raise :class:`~sd_model.files.OutputError` unless ``out`` may hold this SBC's files.

    Accepted: an absent or empty folder, or a folder an SBC wrote: only the files an SBC writes,
    and either its manifest naming ``sbc`` with the files it records unchanged, or (a folder of an
    SBC not finished yet) its ``sbc_meta.json``. The SBC's own fingerprint then decides whether
    its finished data sets are reused (:class:`sd_model.bayes.sbc.SBCStore`).
    """
    out = Path(out)
    if out.is_symlink() or (out.exists() and not out.is_dir()):
        raise OutputError(f"{out}: is a file or a symbolic link, not a folder sd-model sbc wrote; choose another --out")
    names = {p.name for p in out.iterdir() if not p.name.startswith(".")} if out.exists() else set()
    if not names:
        return
    if not (MANIFEST in names or "sbc_meta.json" in names):
        raise OutputError(f"{out}: holds files sd-model sbc did not write; choose another --out")
    problem = resumable_problem(out, "sbc", _OUTPUTS, exclude=_STATE)
    if problem is not None:
        raise OutputError(f"{out} {problem}; refusing to write into it: choose another --out")


def prepare(config: str | Path, priors: str | Path | None = None, *, matched: bool = True, seed: int = 11,
            datasets: int = 50, workers: int = 1, model: str | Path | None = None,
            observations: xr.Dataset | None = None) -> SBCSetup:
    """The likelihood, runner and fit options of an SBC of a calibration file (see the module docstring).

    Parameters
    ----------
    config, priors : path
        Calibration file and its priors file (default: ``<config stem>.priors.toml`` beside it).
    matched : bool
        Fit with priors matched to the real-data Laplace approximation and draw the true values
        from them (default), or fit with the file's priors and draw the true values from the
        approximation.
    seed : int
        Seed of the approximation's draws (and of the SBC).
    datasets : int
        Data sets to draw true values for when ``matched`` is False.
    workers : int
        Local processes of the batch engine.
    model : path, optional
        The Vensim model (default: the shipped model).
    observations : xarray.Dataset, optional
        The "real" data instead of the project's (:func:`sd_model.data.load_observations`).

    The caller closes ``runner`` (``runner.close()``) when done.
    """
    from .identify import identify, reduced
    from .laplace import laplace
    from .likelihood import build_likelihood
    from .posterior import LogPosterior, ModelRunner, to_x
    from .run import BayesSettings, setup, start_values
    from .sampler import centre
    from .sbc import matched_priors

    full = setup(config, priors, model=model, observations=observations)
    with ModelRunner(full.problem, workers=workers) as first:
        ident = identify(full, first, start_values(full))
    lik = reduced(full, ident.fixed)
    runner = ModelRunner(lik.problem, workers=workers)
    try:
        keep = np.asarray(ident.table["sampled"])
        real = laplace(LogPosterior(lik, runner), centre(start_values(full)[keep], lik.priors.lower,
                                                         lik.priors.upper))
        draws = to_x(real.draw(MATCHED_DRAWS if matched else datasets, seed, cap=np.inf), lik.priors.lower,
                     lik.priors.upper)
    except BaseException:
        runner.close()
        raise
    options: dict[str, Any] = {"init": "laplace", "burn": BayesSettings().burn, "cap": BayesSettings().cap}
    if matched:  # each fit draws its true value from the matched priors (again while the model fails)
        lik = build_likelihood(lik.problem, matched_priors(lik.priors, draws, MATCHED_SOURCE))
    else:
        options["truths"] = draws
    return SBCSetup(lik, runner, options, tuple(ident.fixed))


def sbc_tables(setup: SBCSetup, *, out: str | Path, datasets: int = 50, walkers: int | None = None,
               steps: int | None = None, seed: int = 11, thin: int = 5, lockstep: int = 25, first: int = 0,
               progress: Callable[[str], None] | None = None) -> SBCResult:
    """Fit data sets ``first..datasets-1`` of an SBC, keeping each finished one in ``out``.

    Returns the rows of every data set ``0..datasets-1`` found in ``out`` or fitted now (a process
    given ``first > 0`` returns only its own). ``walkers`` default to twice the sampled quantities,
    ``steps`` to the Bayesian calibration's default (:class:`~sd_model.bayes.run.BayesSettings`).
    """
    from .run import BayesSettings, check_walkers

    check_out(out)
    dim = len(setup.likelihood.priors.priors)
    walkers = walkers or 2 * dim
    steps = steps or BayesSettings.steps
    check_walkers(walkers, dim)
    if not 0 <= first < datasets:
        raise SDModelError(f"first must be in 0..datasets-1 (datasets {datasets}), got {first}")
    t0 = time.perf_counter()
    say = progress or (lambda _msg: None)
    table = sbc(setup.likelihood, setup.runner, datasets=datasets, walkers=walkers, steps=steps, seed=seed,
                thin=thin, lockstep=lockstep, out=out, first=first, **setup.options,
                progress=lambda k: say(f"data set {k + 1}/{datasets} ({time.perf_counter() - t0:.0f} s)"))
    return SBCResult(table, sbc_coverage(table), walkers, steps, time.perf_counter() - t0)


def write_sbc(result: SBCResult, out: str | Path, manifest: dict[str, Any] | None = None) -> Path:
    """``sbc.csv``, ``coverage.csv``, ``rank_histograms.png`` and ``manifest.json`` into ``out``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out / "sbc.csv", result.table.to_csv(index=False))
    atomic_write_text(out / "coverage.csv", result.coverage.to_csv(index=False))
    title = f"SBC: {result.table['dataset'].nunique()} data sets, {result.walkers} walkers x {result.steps} steps"
    plot_rank_histograms(result.table, out / "rank_histograms.png", title=title)
    stamp_manifest(out, "sbc", exclude=_STATE, base=manifest)
    return out


def sbc_manifest(setup: SBCSetup, result: SBCResult, *, seed: int, thin: int, matched: bool) -> dict[str, Any]:
    """The output folder's manifest: model hash, base parameters, seed, versions and the SBC's settings."""
    from ..manifest import build_manifest
    from ..mdl import read_model_info
    from ..scenario import Scenario, validate

    p = setup.likelihood.problem
    info = read_model_info(p.model_path)
    scenario = validate(Scenario(name="sbc-base", params=dict(p.base_params)), info)
    fits = result.worst_r_hat
    extra = {"sbc": {"priors": str(setup.likelihood.priors.path), "matched_priors": matched,
                     "datasets": int(result.table["dataset"].nunique()), "walkers": result.walkers,
                     "steps": result.steps, "thin": thin, "burn": setup.options.get("burn", SBCSettings.burn),
                     "init": setup.options.get("init", SBCSettings.init),
                     "sampled": list(setup.likelihood.priors.labels),
                     "fixed": list(setup.fixed), "seconds": round(result.seconds, 1),
                     "coverage90": float(result.table["inside90"].mean()),
                     "fits_r_hat_below_1_05": int((fits < 1.05).sum())}}
    return build_manifest(info, scenario, "batch", seed=seed, extra=extra)


def laplace_check(setup: SBCSetup, *, out: str | Path, datasets: int = 50, seed: int = 11,
                  first: int = 0) -> tuple[pd.DataFrame, pd.DataFrame, str]:
    """The Laplace approximation's 90% intervals on the SBC's data sets (no sampler).

    Writes ``laplace.csv``, ``laplace_coverage.csv`` and ``laplace_rank_histograms.png`` into
    ``out``; if ``out`` holds the SBC's ``sbc.csv`` of the same true values, the sampler's 90%
    widths are compared with the approximation's. Returns (rows, coverage, a summary line).
    """
    check_out(out)
    truths = setup.options.get("truths")
    rows: list[dict[str, Any]] = []
    for k in range(first, datasets):
        rows += laplace_dataset(setup.likelihood, setup.runner, k, seed, None if truths is None else truths[k])
    table = pd.DataFrame(rows)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out / "laplace.csv", table.to_csv(index=False))
    cov = sbc_coverage(table)
    atomic_write_text(out / "laplace_coverage.csv", cov.to_csv(index=False))
    plot_rank_histograms(table, out / "laplace_rank_histograms.png",
                         title=f"Laplace approximation on the SBC's {table['dataset'].nunique()} data sets")
    stamp_manifest(out, "sbc", exclude=_STATE)
    line = f"Laplace approximation, {datasets - first} data sets: overall 90% coverage {table['inside90'].mean():.3f}"
    fitted = out / "sbc.csv"
    if fitted.exists():
        m = pd.read_csv(fitted).merge(table, on=["dataset", "parameter"], suffixes=("", "_laplace"))
        if len(m) and not (m["true"] - m["true_laplace"]).abs().max() > 1e-12 * m["true"].abs().max():
            ratio = (m["q95"] - m["q05"]) / (m["q95_laplace"] - m["q05_laplace"])
            per = ratio.groupby(m["parameter"], sort=False).median()
            line += (f"\nsampler's 90% width / Laplace's, median over data sets: {per.min():.2f}-{per.max():.2f} by "
                     f"parameter (overall {ratio.median():.3f}); narrower in {(ratio < 1).mean():.1%} of "
                     f"{len(ratio)} (data set, parameter) pairs")
        else:
            line += f"\n{fitted} holds other data sets (true values differ): widths not compared"
    return table, cov, line
