"""``sd-model calibrate``: estimate parameters against historical data."""
from __future__ import annotations

from pathlib import Path

import click

from ..calibration import calibrate
from ..calibration.config import METHODS, UNCERTAINTY, load_config_with_base
from ..executor import default_workers
from ..resources import EXPERIMENTS_DIR
from .options import engine_option, shared

DEFAULT_CONFIG = EXPERIMENTS_DIR / "calibration" / "default.toml"


@click.command("calibrate", short_help="Fit parameters to 1978-2015 data; fit report and 95% bounds.")
@click.option("--config", "config", type=click.Path(dir_okay=False, path_type=Path), default=DEFAULT_CONFIG,
              help="Calibration TOML file (default: experiments/calibration/default.toml).")
@click.option("--until", type=int, default=None,
              help="Fit only data up to this year; later years are reported out-of-sample.")
@click.option("--method", type=click.Choice(METHODS + ("bayes",)), default=None,
              help="local: multi-start least squares; global: differential evolution + least squares; "
                   "none: evaluate the start values; bayes: sample the posterior with emcee (docs/bayes.md). "
                   "Default: the file's.")
@click.option("--base", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Scenario the estimates are laid over and start from, instead of the file's `base`; for a clean "
                   "out-of-sample Bayesian fit, the calibrated.toml of `calibrate --until YEAR` (docs/bayes.md).")
@click.option("--priors", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="bayes: priors TOML file (default: <config stem>.priors.toml beside --config).")
@click.option("--walkers", type=click.IntRange(min=2), default=None,
              help="bayes: walkers of the ensemble sampler (even, at least twice the sampled quantities; "
                   "default: twice the sampled quantities, at least 128).")
@click.option("--steps", type=click.IntRange(min=4), default=None,
              help="bayes: steps per walker; the first 10% are discarded as burn-in (default: "
                   "sd_model.bayes.BayesSettings.steps, 8000).")
@click.option("--sample", type=click.Choice(("identified", "all")), default="identified", show_default=True,
              help="bayes: sample only the constants the data identify (the others fixed at their start "
                   "values), or all of them (docs/bayes.md).")
@click.option("--resume", is_flag=True, help="Continue the calibration checkpointed in --out.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Output folder (default: results/calibration/<config name>[-until<YEAR>]).")
@click.option("--seed", type=click.IntRange(min=0), default=None, help="Random seed (default: the file's).")
@click.option("--starts", type=click.IntRange(min=1), default=None,
              help="Number of least-squares starts (default: the file's).")
@click.option("--uncertainty", type=click.Choice(UNCERTAINTY), default=None,
              help="Confidence bounds from the Jacobian, or also from a residual bootstrap (default: the file's).")
@engine_option()
@shared("scheduler", "workers", "quiet", "force", "model")
def calibrate_command(config, until, method, base, priors, walkers, steps, sample, scheduler, resume, out, workers,
                      seed, starts, uncertainty, quiet, force, engine, model):
    """Estimate model parameters against the historical data of a calibration file.

    Writes to OUT: calibrated.toml (a scenario overlay for `sd-model run --scenario`),
    fit_report.md, fit_statistics.csv, parameters.csv (estimates, 95% bounds, flags),
    targets.csv, starts.csv, correlation.csv, plots/*.png, manifest.json, and the
    checkpoint/ that --resume continues from after a kill.

    With --method bayes: posterior.nc (ArviZ InferenceData), posterior_summary.csv,
    diagnostics.csv, ppc.csv, coverage.csv, bayes_report.md, plots/, manifest.json and the
    checkpoint/ (see docs/bayes.md).

    \b
    Example:
      sd-model calibrate --workers 2
      sd-model calibrate --until 2010 --workers 2        # out-of-sample test 2011-2015
      sd-model calibrate --method bayes --workers 2 --out results/bayes
      sd-model calibrate --method bayes --until 2010 --base results/calibration/default-until2010/calibrated.toml
    """  # noqa: D301 (\b is Click's no-rewrap marker)
    if out is None:
        out = Path("results") / "calibration" / (config.stem + (f"-until{until}" if until is not None else "")
                                                 + ("-bayes" if method == "bayes" else ""))
    if base is not None:
        config = load_config_with_base(config, base)
    if method == "bayes":
        from ..bayes import BayesSettings, calibrate_bayes

        settings = BayesSettings(walkers=walkers or 0, steps=steps or BayesSettings.steps,
                                 seed=1 if seed is None else seed, sample=sample)
        res = calibrate_bayes(config, priors=priors, out=out, until=until, settings=settings, resume=resume,
                              workers=workers or default_workers(), scheduler=scheduler, model=model,
                              progress=not quiet)
        diag = res.diagnostics
        click.echo(f"{res.chain.evaluations} model runs in {res.chain.seconds:.0f} s "
                   f"({res.evaluations_per_second:.1f}/s); max R-hat {diag['r_hat'].max():.3f}, "
                   f"min bulk ESS {diag['ess_bulk'].min():.0f} -> {out}")
        return
    result = calibrate(config, out=out, until=until, method=method, resume=resume,
                       workers=workers or default_workers(), seed=seed, starts=starts, uncertainty=uncertainty,
                       model=model, progress=not quiet, engine=engine, force=force, scheduler=scheduler)
    failed = [] if result.targets.empty else result.targets[result.targets["pass"] == False]  # noqa: E712
    click.echo(f"payoff {result.payoff:.6g}; {result.runs} model runs ({result.replayed} replayed) in "
               f"{result.seconds:.0f} s; targets met {int((result.targets['pass'] == True).sum())}"  # noqa: E712
               f"/{int(result.targets['pass'].notna().sum())} -> {out}")
    for _, row in (failed.iterrows() if len(failed) else []):
        click.echo(f"  target not met: {row['series']} {row['region']} {row['period']} {row['statistic']} "
                   f"{row['value']:.4g} ({_limit(row)})")


def _limit(row) -> str:
    """The target's threshold as text: "max 0.05", "min 1" or both."""
    parts = [f"{k} {row[k]:g}" for k in ("min", "max") if row[k] is not None and row[k] == row[k]]  # NaN != NaN
    return ", ".join(parts) or "no limit"
