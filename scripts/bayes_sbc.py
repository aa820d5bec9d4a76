r"""Simulation-based calibration of the Bayesian calibration (docs/bayes.md).

    python scripts/bayes_sbc.py --datasets 50 --out results/bayes-sbc-linear          # test model
    python scripts/bayes_sbc.py --shipped --datasets 50 --workers 2 --out results/bayes-sbc-shipped

With --shipped: the constants the real data identify are sampled, the others fixed at their
least-squares values (the default configuration of ``sd-model calibrate --method bayes``); the
true values are drawn from the Laplace approximation of the real-data posterior
(posterior-centred, so that the synthetic histories resemble China's; SBC's exact guarantee
needs true values drawn from the fit's own prior, so with uniform priors this is a check near
the data, not over the whole prior); each fit starts from the Laplace approximation found from
its true values and runs ``--walkers`` (default twice the sampled quantities) x ``--steps``
(default the default calibration's length, ``BayesSettings.steps``, burn-in 10%; with the fixed moves at
1,200 steps no fit of the seventh-round model converged, docs/bayes.md "Session 8"; each fit's R-hat is
reported). ``--lockstep`` data sets are fitted at once, their model runs
in one engine call per round (default 25). The test model: 16 walkers x 1000 steps per fit (burn-in 50%).

Finished data sets are kept in ``--out``/datasets (checksummed); a re-run with the same command
(or more ``--datasets``) skips them. Writes sbc.csv (one row per data set and parameter, with
each fit's R-hat, bulk ESS and tau) and coverage.csv (90% interval coverage, rank histogram,
fits with R-hat >= 1.05 per parameter) and rank_histograms.png (one panel per parameter over the band of
uniform ranks), and prints the coverage table.

``--matched-priors`` (with --shipped): the fits' priors are truncated normals at the means and
sds of 4,000 draws of that Laplace approximation and the true values are drawn from them, the
SBC of the theory (docs/bayes.md "Session 7"). ``--laplace-only``: no sampler; the Laplace
approximation of each data set's posterior (the fits' start) gives its 90% intervals on the same
true values and data (laplace.csv, laplace_coverage.csv), and, if ``--out`` holds the SBC's
sbc.csv, the sampler's interval widths are compared with them.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import xarray as xr

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    """Run the SBC and write its tables."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shipped", action="store_true", help="the shipped model and default calibration")
    ap.add_argument("--datasets", type=int, default=50)
    ap.add_argument("--walkers", type=int, default=None)
    ap.add_argument("--steps", type=int, default=None)
    ap.add_argument("--thin", type=int, default=5)
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--lockstep", type=int, default=None, help="data sets fitted at once (default 25)")
    ap.add_argument("--first", type=int, default=0,
                    help="fit only data sets FIRST.. (two processes can share one --out folder)")
    ap.add_argument("--matched-priors", action="store_true",
                    help="with --shipped: fit with normal priors at the Laplace approximation's means and sds and "
                         "draw the true values from them (SBC as its theory states it)")
    ap.add_argument("--laplace-only", action="store_true",
                    help="no sampler: the Laplace approximation's 90%% intervals on the same data sets (laplace.csv, "
                         "laplace_coverage.csv), and their widths against sbc.csv's if --out holds one")
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    from sd_model.bayes.posterior import BatchRunner, ModelRunner
    from sd_model.bayes.run import setup
    from sd_model.bayes.sbc import sbc, sbc_coverage
    from sd_model.bayes.sbc_plots import plot_rank_histograms

    kw: dict = {}
    if args.shipped:
        from sd_model.bayes.identify import identify, reduced
        from sd_model.bayes.posterior import to_x
        from sd_model.bayes.run import BayesSettings, start_values

        full = setup(ROOT / "experiments" / "calibration" / "default.toml")
        with ModelRunner(full.problem, workers=args.workers) as first:
            ident = identify(full, first, start_values(full))
        lik = reduced(full, ident.fixed)
        runner = ModelRunner(lik.problem, workers=args.workers)
        from sd_model.bayes.laplace import laplace
        from sd_model.bayes.posterior import LogPosterior
        from sd_model.bayes.sampler import centre

        keep = np.asarray(ident.table["sampled"])
        real = laplace(LogPosterior(lik, runner), centre(start_values(full)[keep], lik.priors.lower, lik.priors.upper))
        draws = to_x(real.draw(4000 if args.matched_priors else args.datasets, args.seed, cap=np.inf),
                     lik.priors.lower, lik.priors.upper)
        kw = {"init": "laplace", "burn": BayesSettings().burn, "cap": BayesSettings().cap}
        if args.matched_priors:  # each fit draws its true value from the matched priors (again while the model fails)
            from sd_model.bayes.likelihood import build_likelihood
            from sd_model.bayes.sbc import matched_priors

            lik = build_likelihood(lik.problem, matched_priors(
                lik.priors, draws, "Laplace approximation of the real-data posterior (scripts/bayes_sbc.py)"))
        else:
            kw["truths"] = draws
        dim = len(lik.priors.priors)
        args.walkers = args.walkers or 2 * dim
        args.steps = args.steps or BayesSettings.steps
        args.lockstep = args.lockstep or 25
        print(f"{dim} sampled quantities, {len(ident.fixed)} constants fixed", file=sys.stderr)
    else:
        args.walkers, args.steps, args.lockstep = args.walkers or 16, args.steps or 1000, args.lockstep or 25
        models = ROOT / "tests" / "models"
        years = np.arange(2000, 2011)
        obs = xr.Dataset({"level": ("year", np.zeros(len(years)))}, coords={"year": years})  # replaced by SBC
        lik = setup(models / "bayes_linear.toml", models / "bayes_linear.priors.toml",
                    model=models / "bayes_linear.mdl", observations=obs)
        runner = BatchRunner(lik.problem)
    if args.laplace_only:
        _laplace_only(args, lik, runner, kw.get("truths"))
        return
    t0 = time.perf_counter()
    try:
        table = sbc(lik, runner, datasets=args.datasets, walkers=args.walkers, steps=args.steps, seed=args.seed,
                    thin=args.thin, lockstep=args.lockstep, out=args.out, first=args.first, **kw,
                    progress=lambda k: print(f"data set {k + 1}/{args.datasets} ({time.perf_counter() - t0:.0f} s)",
                                             file=sys.stderr))
    finally:
        if isinstance(runner, ModelRunner):
            runner.close()  # its worker processes
    cov = sbc_coverage(table)
    args.out.mkdir(parents=True, exist_ok=True)
    table.to_csv(args.out / "sbc.csv", index=False)
    cov.to_csv(args.out / "coverage.csv", index=False)
    print(cov.to_string(index=False))
    title = f"SBC: {table['dataset'].nunique()} data sets, {args.walkers} walkers x {args.steps} steps"
    plot_rank_histograms(table, args.out / "rank_histograms.png", title=title)
    fits = table.groupby("dataset")["r_hat"].max()
    print(f"{len(fits)} data sets, {args.walkers} walkers x {args.steps} steps each, lockstep {args.lockstep}, "
          f"{time.perf_counter() - t0:.0f} s; overall 90% coverage {table['inside90'].mean():.3f}; fits with every "
          f"R-hat < 1.05: {int((fits < 1.05).sum())} of {len(fits)} (worst {fits.max():.3f})")


def _laplace_only(args: argparse.Namespace, lik, runner, truths) -> None:
    """The Laplace approximation's coverage on the SBC's data sets, and the sampler's interval widths against it."""
    import pandas as pd

    from sd_model.bayes.sbc import laplace_dataset, sbc_coverage
    from sd_model.bayes.sbc_plots import plot_rank_histograms

    rows = []
    try:
        for k in range(args.first, args.datasets):
            rows += laplace_dataset(lik, runner, k, args.seed, None if truths is None else truths[k])
    finally:
        if hasattr(runner, "close"):
            runner.close()
    table = pd.DataFrame(rows)
    args.out.mkdir(parents=True, exist_ok=True)
    table.to_csv(args.out / "laplace.csv", index=False)
    cov = sbc_coverage(table)
    cov.to_csv(args.out / "laplace_coverage.csv", index=False)
    print(cov.to_string(index=False))
    plot_rank_histograms(table, args.out / "laplace_rank_histograms.png",
                         title=f"Laplace approximation on the SBC's {table['dataset'].nunique()} data sets")
    print(f"Laplace approximation, {args.datasets - args.first} data sets: overall 90% coverage "
          f"{table['inside90'].mean():.3f}")
    fitted = args.out / "sbc.csv"
    if fitted.exists():
        m = pd.read_csv(fitted).merge(table, on=["dataset", "parameter"], suffixes=("", "_laplace"))
        if len(m) and not (m["true"] - m["true_laplace"]).abs().max() > 1e-12 * m["true"].abs().max():
            ratio = (m["q95"] - m["q05"]) / (m["q95_laplace"] - m["q05_laplace"])
            per = ratio.groupby(m["parameter"], sort=False).median()
            print(f"sampler's 90% width / Laplace's, median over data sets: {per.min():.2f}-{per.max():.2f} by "
                  f"parameter (overall {ratio.median():.3f}); narrower in {(ratio < 1).mean():.1%} of "
                  f"{len(ratio)} (data set, parameter) pairs")
        else:
            print(f"{fitted} holds other data sets (true values differ): widths not compared")


if __name__ == "__main__":
    main()
