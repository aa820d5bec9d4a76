r"""Simulation-based calibration of the Bayesian calibration (docs/bayes.md).

For a calibration file, ``sd-model sbc`` is the command (the same library,
``sd_model.bayes.sbc_run``; ``--shipped --matched-priors`` here equals ``sd-model sbc`` with its
defaults and finds the same folders). This script also runs the linear test model:

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
    from sd_model.bayes.sbc_run import SBCSetup, laplace_check, prepare, sbc_manifest, sbc_tables, write_sbc

    say = lambda msg: print(msg, file=sys.stderr)  # noqa: E731
    if args.shipped:
        setup = prepare(ROOT / "experiments" / "calibration" / "default.toml", matched=args.matched_priors,
                        seed=args.seed, datasets=args.datasets, workers=args.workers)
        say(f"{len(setup.likelihood.priors.priors)} sampled quantities, {len(setup.fixed)} constants fixed")
        walkers, steps = args.walkers, args.steps  # defaults: twice the sampled quantities, BayesSettings.steps
    else:
        from sd_model.bayes.posterior import BatchRunner
        from sd_model.bayes.run import setup as bayes_setup

        models = ROOT / "tests" / "models"
        years = np.arange(2000, 2011)
        obs = xr.Dataset({"level": ("year", np.zeros(len(years)))}, coords={"year": years})  # replaced by SBC
        lik = bayes_setup(models / "bayes_linear.toml", models / "bayes_linear.priors.toml",
                          model=models / "bayes_linear.mdl", observations=obs)
        setup = SBCSetup(lik, BatchRunner(lik.problem), {}, ())
        walkers, steps = args.walkers or 16, args.steps or 1000
    try:
        if args.laplace_only:
            _table, cov, line = laplace_check(setup, out=args.out, datasets=args.datasets, seed=args.seed,
                                              first=args.first)
            print(cov.to_string(index=False))
            print(line)
            return
        result = sbc_tables(setup, out=args.out, datasets=args.datasets, walkers=walkers, steps=steps,
                            seed=args.seed, thin=args.thin, lockstep=args.lockstep or 25, first=args.first,
                            progress=say)
    finally:
        if hasattr(setup.runner, "close"):
            setup.runner.close()  # its worker processes
    print(result.coverage.to_string(index=False))
    if not args.first:
        write_sbc(result, args.out, sbc_manifest(setup, result, seed=args.seed, thin=args.thin,
                                                 matched=args.matched_priors))
    print(result.summary())


if __name__ == "__main__":
    from sd_model.errors import SDModelError

    try:
        main()
    except SDModelError as exc:  # a bad --out or settings: one line, as the sd-model commands do
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
