"""``sd-model sensitivity``: rank the parameters that drive chosen outcomes (SALib)."""
from __future__ import annotations

from pathlib import Path

import click

from ..engines import DEFAULT_ENSEMBLE_ENGINE
from ..sensitivity import DEFAULT_OUTCOMES, METHODS
from ..workflows import sensitivity_to_folder
from .options import engine_option, seed_option, shared


@click.command("sensitivity", short_help="Morris or Sobol sensitivity of chosen outcomes (SALib).")
@click.option("--method", type=click.Choice(METHODS), default="morris", show_default=True,
              help="morris: elementary effects (cheap screening); sobol: variance shares S1 and ST.")
@click.option("--ranges", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="TOML file [ranges] \"Name\" = [lo, hi] (default: experiments/ranges/default.toml).")
@click.option("--from-calibration", "calibration", type=click.Path(file_okay=False, path_type=Path),
              default=None, help="Use the 95% bounds of a calibration output folder as the ranges.")
@click.option("--posterior", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="posterior.nc of 'sd-model calibrate --method bayes': its 90% intervals are the ranges.")
@click.option("--outcomes", default=",".join(DEFAULT_OUTCOMES), show_default=True,
              help="Comma-separated outcomes 'Name@Year' or 'Name[Region]@Year'.")
@click.option("--samples", type=click.IntRange(min=2), default=None,
              help="Morris trajectories (default 20; runs = N x (k+1)) or Sobol base size, a power of two "
                   "(default 256; runs = N x (k+2)), for k parameters.")
@seed_option("Seed of sampling and bootstrap.")
@click.option("--scenario", default="historical", show_default=True,
              help="Scenario file (or name in experiments/) the parameters are varied around.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("results/sensitivity"),
              show_default=True, help="Output folder (replaced as a whole when complete).")
@engine_option(DEFAULT_ENSEMBLE_ENGINE)
@shared("scheduler", "workers", "quiet", "force", "model")
def sensitivity_command(method, ranges, calibration, posterior, outcomes, samples, seed, scenario, out, scheduler,
                        workers, quiet, engine, force, model):
    """Global sensitivity of chosen outcomes to the declared parameter ranges (SALib).

    Writes OUT/sensitivity.csv (outcome, parameter, index, value, conf, rank),
    ranking.png, design.csv (every parameter set with its outcomes) and manifest.json.

    \b
    Example:
      sd-model sensitivity --method sobol --samples 256 --outcomes "Theil Index@2050,National GDP@2050"
    """  # noqa: D301 (\b is Click's no-rewrap marker)
    result = sensitivity_to_folder(out, outcomes.split(","), method=method, samples=samples, seed=seed,
                                   scenario=scenario, ranges=ranges, calibration=calibration, posterior=posterior,
                                   engine=engine, model=model, workers=workers, scheduler=scheduler,
                                   progress=not quiet, force=force)
    index = "mu_star" if method == "morris" else "ST"
    for outcome, part in result.table[result.table["index"] == index].groupby("outcome", sort=False):
        top = part.sort_values("rank").head(5)
        click.echo(f"{outcome}: " + ", ".join(f"{p} ({index} {v:.3g})" for p, v in zip(top["parameter"], top["value"])))
    click.echo(f"{len(result.x)} runs -> {out}")
