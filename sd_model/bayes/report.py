"""Files of a Bayesian calibration: posterior draws, tables, report and plots.

Written into the output folder: ``posterior.nc`` (ArviZ InferenceData: groups posterior,
prior, sample_stats; ``arviz.from_netcdf``), ``posterior_summary.csv`` (medians and 90%
intervals against the priors), ``diagnostics.csv`` (R-hat, ESS, autocorrelation time),
``ppc.csv`` (posterior-predictive bands of every series), ``coverage.csv``, ``bayes_report.md``,
``plots/`` (trace, autocorrelation, pairs, one posterior-predictive plot per series) and
``manifest.json``.
"""
from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from ..calibration.report import markdown_table
from ..files import atomic_dir, atomic_write_json, atomic_write_text
from ..interrupts import interrupts_held
from ..manifest import build_manifest
from ..mdl import read_model_info
from ..scenario import Scenario, validate


def _write_idata(idata: Any, path: Path) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        with interrupts_held():  # the NetCDF library must not be cut mid-write (see interrupts_held)
            idata.to_netcdf(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_plots(result: Any, folder: Path) -> None:
    """Trace, autocorrelation, pair and posterior-predictive plots (PNG) into ``folder``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = result.likelihood.priors.labels
    coords = result.chain.coords
    from .posterior import to_x

    full = to_x(coords, result.likelihood.priors.lower, result.likelihood.priors.upper)
    burn = coords.shape[0] - result.draws.shape[0]
    D = len(labels)
    ncol = 4
    nrow = int(np.ceil(D / ncol))
    fig, axes = plt.subplots(nrow, ncol, figsize=(16, 2.2 * nrow), squeeze=False)
    for j, ax in enumerate(axes.flat):
        if j >= D:
            ax.axis("off")
            continue
        ax.plot(full[:, :16, j], lw=0.4, alpha=0.6)
        ax.plot(full[:, :, j].mean(axis=1), color="k", lw=1)
        ax.axvline(burn, color="r", ls="--", lw=0.8)
        ax.set_title(labels[j], fontsize=8)
        ax.tick_params(labelsize=6)
    fig.suptitle("Trace: 16 walkers and the ensemble mean (black); burn-in ends at the red line")
    fig.tight_layout()
    fig.savefig(folder / "trace.png", dpi=80)
    plt.close(fig)

    import emcee

    fig, ax = plt.subplots(figsize=(8, 4))
    lags = min(result.draws.shape[0], 400)
    for j in range(D):
        acf = np.mean([emcee.autocorr.function_1d(result.draws[:, w, j]) for w in range(result.draws.shape[1])],
                      axis=0)
        ax.plot(acf[:lags], lw=0.7)
    ax.axhline(0, color="k", lw=0.5)
    ax.set_xlabel("lag (steps)")
    ax.set_ylabel("autocorrelation (mean over walkers)")
    ax.set_title("Autocorrelation of every parameter after burn-in")
    fig.tight_layout()
    fig.savefig(folder / "autocorrelation.png", dpi=80)
    plt.close(fig)

    flat = result.draws.reshape(-1, D)
    order = np.argsort(-result.summary["contraction"].to_numpy())[:min(6, D)]
    k = len(order)
    fig, axes = plt.subplots(k, k, figsize=(2.2 * k, 2.2 * k), squeeze=False)
    sub = flat[np.random.default_rng(0).choice(len(flat), size=min(len(flat), 3000), replace=False)]
    for a, i in enumerate(order):
        for b, j in enumerate(order):
            ax = axes[a, b]
            if a == b:
                ax.hist(sub[:, i], bins=40, color="C0")
            elif a > b:
                ax.plot(sub[:, j], sub[:, i], ",", alpha=0.3)
            else:
                ax.axis("off")
            ax.tick_params(labelsize=5)
            if a == k - 1:
                ax.set_xlabel(labels[j], fontsize=6)
            if b == 0:
                ax.set_ylabel(labels[i], fontsize=6)
    fig.suptitle("Pairs of the most informed parameters (posterior draws)")
    fig.tight_layout()
    fig.savefig(folder / "pairs.png", dpi=80)
    plt.close(fig)

    band = result.bands
    if band.empty:
        return
    for name, sub_band in band.groupby("series", sort=False):
        regions = list(dict.fromkeys(sub_band["region"]))
        fig, axes = plt.subplots(1, len(regions), figsize=(3.6 * len(regions), 3), squeeze=False)
        for ax, region in zip(axes.flat, regions):
            b = sub_band[sub_band["region"] == region]
            ax.fill_between(b["year"], b["q05"], b["q95"], color="C0", alpha=0.25, label="90%")
            ax.fill_between(b["year"], b["q25"], b["q75"], color="C0", alpha=0.45, label="50%")
            ax.plot(b["year"], b["model_median"], color="C0", lw=1, label="model median")
            ins = b["in_sample"].to_numpy(bool)
            ax.plot(b["year"][ins], b["observed"][ins], "k.", ms=3, label="data (fitted)")
            ax.plot(b["year"][~ins], b["observed"][~ins], "r.", ms=4, label="data (out of sample)")
            ax.set_title(f"{name}: {region}", fontsize=8)
            ax.tick_params(labelsize=6)
        axes.flat[0].legend(fontsize=6)
        fig.tight_layout()
        safe = "".join(c if c.isalnum() else "_" for c in str(name))
        fig.savefig(folder / f"ppc_{safe}.png", dpi=80)
        plt.close(fig)


def markdown_report(result: Any) -> str:
    """The report: settings, speed, convergence, posterior against prior, coverage."""
    import warnings

    with warnings.catch_warnings():  # NaN diagnostics of a chain too short to estimate them
        warnings.simplefilter("ignore", RuntimeWarning)
        return _markdown_report(result)


def _out_of_sample_note(result: Any) -> list[str]:
    """A report line when the fit stops before the calibration span ends (``--until``).

    The constants the identification leaves out are not sampled: they keep their start values, i.e. the
    calibration file's base scenario. When that base was fitted to the whole span (the shipped defaults are
    the least-squares fit to 1978-2015), the years held out inform them, and the out-of-sample bands are not a
    clean test. On the eighth-round model this made the difference between 90% and 67% coverage of 2011-2015
    (docs/bayes.md, "Session of 2026-12-02").
    """
    p = result.likelihood.problem
    if p.until >= p.span[1]:
        return []
    ident = getattr(result, "identification", None)
    n_fixed = 0 if ident is None else int((~ident["sampled"]).sum())
    return [f"- out of sample {p.until + 1}-{p.span[1]}: {n_fixed} constants are not sampled and keep the calibration "
            "file's start values (its base scenario); unless that base is a fit to data up to "
            f"{p.until} only, the held-out years inform them (for a clean test, pass `--base` the calibrated.toml "
            f"of `sd-model calibrate --until {p.until}`: docs/bayes.md)"]


def _markdown_report(result: Any) -> str:
    lik, st, ch = result.likelihood, result.settings, result.chain
    p = lik.problem
    em = lik.priors.error_model
    diag = result.diagnostics
    cmd = " ".join(["sd-model", *sys.argv[1:]]) if sys.argv and "sd-model" in sys.argv[0] else "calibrate_bayes()"
    fixed = []
    if isinstance(em.rho, float):
        fixed.append(f"AR(1) rho fixed at {em.rho:g} ({em.rho_source or 'default'})")
    if isinstance(em.sigma_scale, float):
        fixed.append(f"error scale fixed at {em.sigma_scale:g} ({em.sigma_scale_source or 'default'})")
    lines = ["# Bayesian calibration report", "", f"- command: `{cmd}`",
             f"- priors: `{lik.priors.path}`; model sha256 `{p.model_sha256[:12]}`",
             f"- fitted years {p.span[0]}-{p.until}; {lik.n_observations} observations in {len(lik.columns)} "
             "(series, region) columns; error model: AR(1) residuals per column in transformed units"
             + (f"; {'; '.join(fixed)}" if fixed else "")
             + (f"; breaks: {', '.join(f'{s} {list(y)}' for s, y in em.breaks)}" if em.breaks else ""),
             *_out_of_sample_note(result),
             f"- sampler: emcee ensemble sampler, {st.moves} moves, {st.walkers} walkers x "
             f"{ch.coords.shape[0] - 1} steps, seed {st.seed}; "
             f"burn-in {ch.coords.shape[0] - result.draws.shape[0] - 1} steps discarded; "
             f"mean acceptance {ch.acceptance.mean():.3f}",
             f"- {ch.evaluations} model evaluations by this process in {ch.seconds:.0f} s of sampling: "
             f"{result.evaluations_per_second:.1f} evaluations/s; total {result.seconds:.0f} s"
             + (f" (resumed: {ch.resumed_from} steps were in the checkpoint)" if ch.resumed_from else ""),
             f"- convergence: max R-hat {np.nanmax(diag['r_hat']):.3f} (target < 1.05); min bulk ESS "
             f"{np.nanmin(diag['ess_bulk']):.0f}, min tail ESS {np.nanmin(diag['ess_tail']):.0f}, "
             f"min W*S/tau {np.nanmin(diag['ess_tau']):.0f} (target >= 400); "
             f"max tau {np.nanmax(diag['tau_steps']):.0f} steps; "
             f"steps/tau min {np.nanmin(diag['steps_over_tau']):.1f} (emcee advises > 50)", ""]
    cols = ["parameter", "prior", "prior_median", "prior_q05", "prior_q95", "posterior_median", "posterior_q05",
            "posterior_q95", "contraction", "informed"]
    lines += ["## Posterior against prior", "",
              "Medians and 90% intervals. contraction = 1 - posterior width / prior width; 'no' in informed: "
              "the posterior interval keeps more than 80% of the prior's width (the data do not inform it).", "",
              markdown_table(result.summary, cols), ""]
    lines += ["## Diagnostics", "", markdown_table(diag, ["parameter", "r_hat", "ess_bulk", "ess_tail", "tau_steps",
                                                          "ess_tau"]), ""]
    if not result.coverage.empty:
        lines += ["## Posterior-predictive coverage", "",
                  "Share of observations inside the 50% and 90% bands of replicated data (model + AR(1) error; "
                  "out of sample: the error continued from the last fitted year).", "",
                  markdown_table(result.coverage, ["series", "period", "n", "inside50", "inside90"]), ""]
    lines += ["Sources of the priors: `posterior_summary.csv` (column source).", "",
              "Files: `posterior.nc` (ArviZ InferenceData), `posterior_summary.csv`, `diagnostics.csv`, `ppc.csv`, "
              "`coverage.csv`, `plots/`, `manifest.json`, `checkpoint/` (for `--resume`).", ""]
    return "\n".join(lines)


def write_outputs(result: Any, out: Path) -> None:
    """Write every file of a Bayesian calibration into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    _write_idata(result.idata, out / "posterior.nc")
    atomic_write_text(out / "posterior_summary.csv", result.summary.to_csv(index=False))
    atomic_write_text(out / "diagnostics.csv", result.diagnostics.to_csv(index=False))
    atomic_write_text(out / "ppc.csv", result.bands.to_csv(index=False))
    atomic_write_text(out / "coverage.csv", result.coverage.to_csv(index=False))
    if getattr(result, "identification", None) is not None:
        atomic_write_text(out / "identified.csv", result.identification.to_csv(index=False))
    with atomic_dir(out / "plots", None) as tmp:  # inside the bayes output folder
        write_plots(result, tmp)
    atomic_write_text(out / "bayes_report.md", markdown_report(result))
    p = result.likelihood.problem
    info = read_model_info(p.model_path)
    scenario = validate(Scenario(name="bayes-base", params=dict(p.base_params)), info)
    diag = result.diagnostics.fillna({"r_hat": np.inf, "ess_bulk": 0.0})
    extra = {"bayes": {"priors": str(result.likelihood.priors.path), "until": p.until,
                       "walkers": result.settings.walkers, "steps": int(result.chain.coords.shape[0] - 1),
                       "burn": result.settings.burn, "evaluations": result.chain.evaluations,
                       "sampling_seconds": round(result.chain.seconds, 1),
                       "seconds_total": round(result.seconds, 1),  # set-up, identification, start, sampling, analysis
                       "evaluations_per_second": round(result.evaluations_per_second, 2),
                       "max_r_hat": float(np.nanmax(diag["r_hat"])), "min_ess_bulk": float(np.nanmin(diag["ess_bulk"])),
                       "acceptance": float(result.chain.acceptance.mean()),
                       "sample": result.settings.sample,
                       "fixed": [] if getattr(result, "identification", None) is None else
                       list(result.identification.loc[~result.identification["sampled"], "parameter"])}}
    atomic_write_json(out / "manifest.json", build_manifest(info, scenario, "batch", seed=result.settings.seed,
                                                            extra=extra))
