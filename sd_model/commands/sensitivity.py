"""``sd-model sensitivity``: rank the parameters that drive chosen outcomes (SALib)."""
from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import click
import pandas as pd

from ..draws import check_parameter_sets, ranges_from_calibration, read_calibration_estimates
from ..engines import DEFAULT_ENSEMBLE_ENGINE
from ..errors import SDModelError
from ..experiments import check_lever_starts, resolve_scenario_path, store_key
from ..resources import EXPERIMENTS_DIR
from ..files import atomic_dir, atomic_write_bytes, atomic_write_json, atomic_write_text
from ..manifest import build_manifest
from ..mdl import read_model_info
from ..plotting import figure_png
from ..sampling import load_ranges
from ..scenario import load_scenario, validate
from ..sensitivity import (DEFAULT_OUTCOMES, METHODS, make_problem, model_evaluator, parse_outcome,
                           plot_ranking, run_sensitivity)
from .options import engine_option, model_option

DEFAULT_RANGES = EXPERIMENTS_DIR / "ranges" / "default.toml"
_DEFAULT_N = {"morris": 20, "sobol": 256}


def _ranges(ranges, calibration, info):
    if calibration is not None:
        return ranges_from_calibration(read_calibration_estimates(calibration)), f"95% bounds in {calibration}"
    path = ranges or DEFAULT_RANGES
    if not Path(path).is_file():
        raise SDModelError(f"{path}: ranges file not found; give --ranges FILE or --from-calibration DIR")
    return load_ranges(path, info), str(path)


@click.command("sensitivity", short_help="Morris or Sobol sensitivity of chosen outcomes (SALib).")
@click.option("--method", type=click.Choice(METHODS), default="morris", show_default=True,
              help="morris: elementary effects (cheap screening); sobol: variance shares S1 and ST.")
@click.option("--ranges", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="TOML file [ranges] \"Name\" = [lo, hi] (default: experiments/ranges/default.toml).")
@click.option("--from-calibration", "calibration", type=click.Path(file_okay=False, path_type=Path),
              default=None, help="Use the 95% bounds of a calibration output folder as the ranges.")
@click.option("--outcomes", default=",".join(DEFAULT_OUTCOMES), show_default=True,
              help="Comma-separated outcomes 'Name@Year' or 'Name[Region]@Year'.")
@click.option("--samples", type=click.IntRange(min=2), default=None,
              help="Morris trajectories (default 20; runs = N x (k+1)) or Sobol base size, a power of two "
                   "(default 256; runs = N x (k+2)), for k parameters.")
@click.option("--seed", type=int, default=1, show_default=True, help="Seed of sampling and bootstrap.")
@click.option("--scenario", default="historical", show_default=True,
              help="Scenario file (or name in experiments/) the parameters are varied around.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("results/sensitivity"),
              show_default=True, help="Output folder (replaced as a whole when complete).")
@click.option("--scheduler", default=None, help="Dask scheduler address (default: local cores).")
@click.option("--workers", type=click.IntRange(min=1), default=None, help="Local worker processes (default: all).")
@click.option("--no-progress", is_flag=True, help="Hide the progress bar.")
@engine_option(DEFAULT_ENSEMBLE_ENGINE)
@model_option
def sensitivity_command(method, ranges, calibration, outcomes, samples, seed, scenario, out, scheduler, workers,
                        no_progress, engine, model):
    """Global sensitivity of chosen outcomes to the declared parameter ranges (SALib).

    Writes OUT/sensitivity.csv (outcome, parameter, index, value, conf, rank),
    ranking.png, design.csv (every parameter set with its outcomes) and manifest.json.

    \b
    Example:
      sd-model sensitivity --method sobol --samples 256 --outcomes "Theil Index@2050,National GDP@2050"
    """
    if ranges is not None and calibration is not None:
        raise click.UsageError("give either --ranges or --from-calibration, not both")
    info = read_model_info(model)
    parsed = [parse_outcome(t) for t in outcomes.split(",") if t.strip()]
    if not parsed:
        raise click.UsageError("--outcomes is empty")
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
    sc = validate(replace(load_scenario(resolve_scenario_path(scenario)),
                          final_time=max(o.year for o in parsed)), info)
    check_lever_starts(sc, info)
    bounds, source = _ranges(ranges, calibration, info)
    problem = make_problem(bounds)
    check_parameter_sets(pd.DataFrame([[lo for lo, _ in bounds.values()]], columns=list(bounds)), [sc], info)
    n = samples or _DEFAULT_N[method]
    store_root = out.parent / f".{out.name}.store"
    key = store_key(sc, pd.DataFrame(problem["bounds"]).T, [o.label for o in parsed], info.sha256)
    evaluate = model_evaluator(sc, problem["names"], parsed, engine=engine, model=model, workers=workers,
                               scheduler=scheduler, progress=not no_progress,
                               store=store_root / f"{method}-{n}-{seed}-{key}")
    result = run_sensitivity(problem, evaluate, method, n, seed)
    design = pd.DataFrame(result.x, columns=problem["names"]).assign(**{k: v for k, v in result.y.items()})
    with atomic_dir(out) as tmp:
        atomic_write_text(tmp / "sensitivity.csv", result.table.to_csv(index=False))
        atomic_write_text(tmp / "design.csv", design.to_csv(index_label="run"))
        atomic_write_bytes(tmp / "ranking.png", figure_png(plot_ranking(result.table)))
        extra = {"method": method, "samples": n, "runs": len(result.x), "ranges": source,
                 "bounds": dict(zip(problem["names"], problem["bounds"])), "outcomes": [o.label for o in parsed]}
        atomic_write_json(tmp / "manifest.json", build_manifest(info, sc, engine, seed=seed, extra=extra))
    shutil.rmtree(store_root, ignore_errors=True)
    index = "mu_star" if method == "morris" else "ST"
    for outcome, part in result.table[result.table["index"] == index].groupby("outcome", sort=False):
        top = part.sort_values("rank").head(5)
        click.echo(f"{outcome}: " + ", ".join(f"{p} ({index} {v:.3g})" for p, v in zip(top["parameter"], top["value"])))
    click.echo(f"{len(result.x)} runs -> {out}")
