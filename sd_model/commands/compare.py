"""``sd-model compare``: run scenarios side by side and write an HTML report with tables."""
from __future__ import annotations

import shutil
from pathlib import Path

import click
import pandas as pd

from ..draws import (check_parameter_sets, draws_from_calibration, draws_from_ranges,
                     read_calibration_correlation, read_calibration_estimates)
from ..engines import DEFAULT_ENSEMBLE_ENGINE
from ..errors import SDModelError
from ..experiments import drop_failed, prepare_scenarios, run_ensembles, run_scenarios
from ..indicators import beat_shares, ensemble_table, indicator_table
from ..resources import EXPERIMENTS_DIR
from ..files import atomic_dir, atomic_write_json, atomic_write_text
from ..results import write_results
from ..manifest import build_manifest
from ..report import build_report, findings
from ..run import load_engine
from ..sampling import load_ranges
from .options import engine_option, model_option

DEFAULT_RANGES = EXPERIMENTS_DIR / "ranges" / "default.toml"


def _draws(samples, seed, ranges, calibration, info):
    """Parameter draws, the calibration's central values, and a description of the source."""
    if calibration is not None:
        estimates = read_calibration_estimates(calibration)
        central = dict(zip(estimates["parameter"].astype(str), estimates["estimate"].astype(float)))
        if not samples:
            return None, central, [], f"calibration estimates in {calibration}"
        correlation = read_calibration_correlation(calibration)
        draws, notes = draws_from_calibration(estimates, samples, seed, info, correlation)
        how = "correlated " if correlation is not None else ""
        return draws, central, notes, f"{how}split normal from the 95% bounds in {calibration}"
    if not samples:
        return None, {}, [], "none (single runs)"
    path = ranges or DEFAULT_RANGES
    if not Path(path).is_file():
        raise SDModelError(f"{path}: ranges file not found; give --ranges FILE or --from-calibration DIR")
    return (draws_from_ranges(load_ranges(path, info), samples, seed), {}, [],
            f"uniform (Latin hypercube) in {path}")


def _central_params(central: dict[str, float]) -> dict:
    """{"Name[El]": v} -> scenario params ({"Name": {"El": v}} for elements)."""
    out: dict = {}
    for key, value in central.items():
        base, _, element = key.partition("[")
        if element:
            out.setdefault(base.strip(), {})[element.rstrip("]").strip()] = value
        else:
            out[base.strip()] = value
    return out


def _ensemble_tidy(ds) -> pd.DataFrame:
    frames = []
    for name, da in ds.data_vars.items():
        if "time" not in da.dims:
            continue
        df = da.to_dataframe(name="value").reset_index()
        df.insert(0, "variable", name)
        df["Region"] = df["Region"].astype(str) if "Region" in df else ""
        frames.append(df[["member", "variable", "time", "Region", "value"]])
    return pd.concat(frames, ignore_index=True)


def _write_table(df: pd.DataFrame, folder: Path, stem: str, fmt: str) -> None:
    if fmt == "csv":
        atomic_write_text(folder / f"{stem}.csv", df.to_csv(index=False))
    else:
        df.to_parquet(folder / f"{stem}.parquet", index=False)  # inside the atomic folder


@click.command("compare", short_help="Compare scenarios: HTML report, tables, uncertainty bands.")
@click.argument("scenarios", nargs=-1, required=True)
@click.option("--until", type=float, default=None, help="Final year for every scenario (default: theirs).")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("results/compare"),
              show_default=True, help="Output folder (replaced as a whole when complete).")
@click.option("--samples", type=click.IntRange(min=0), default=0, show_default=True,
              help="Parameter draws per scenario (the same draws for every scenario); 0 = single runs.")
@click.option("--seed", type=int, default=1, show_default=True, help="Seed of the draws.")
@click.option("--ranges", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="TOML file of parameter ranges [ranges] \"Name\" = [lo, hi] (default: "
                   "experiments/ranges/default.toml).")
@click.option("--from-calibration", "calibration", type=click.Path(file_okay=False, path_type=Path),
              default=None, help="Calibration output folder: draw around its estimates within its 95% bounds.")
@click.option("--format", "fmt", type=click.Choice(["csv", "parquet"]), default="parquet", show_default=True,
              help="Format of the tidy results of every run.")
@click.option("--scheduler", default=None, help="Dask scheduler address (default: local cores).")
@click.option("--workers", type=click.IntRange(min=1), default=None, help="Local worker processes (default: all).")
@click.option("--no-progress", is_flag=True, help="Hide the progress bar.")
@engine_option(DEFAULT_ENSEMBLE_ENGINE, "--ensemble-engine", "Engine of the sampled runs (--engine runs the single runs)")
@engine_option()
@model_option
def compare_command(scenarios, until, out, samples, seed, ranges, calibration, fmt, scheduler, workers,
                    no_progress, ensemble_engine, engine, model):
    """Run SCENARIO... (files, or names in experiments/) and write a comparison report.

    Writes OUT/report.html (plots, findings, tables), indicators.csv (key indicators at
    2025/2035/2050/2060/2100 and the difference from the first scenario), findings.csv,
    runs/<scenario>.<fmt> and manifest.json; with --samples N also fan charts,
    indicators_ensemble.csv, beat_shares.csv, parameter_sets.csv and
    ensembles/<scenario>.<fmt>. The folder appears only when complete; finished
    ensemble runs are kept in a hidden sibling folder and reused if interrupted.

    \b
    Example:
      sd-model compare historical unbalanced balanced --samples 1000 --out results/balanced
    """
    if ranges is not None and calibration is not None:
        raise click.UsageError("give either --ranges or --from-calibration, not both")
    eng = load_engine(engine, model)
    scs = prepare_scenarios(scenarios, eng.info, until)
    draws, central, notes, source = _draws(samples, seed, ranges, calibration, eng.info)
    if draws is not None:
        check_parameter_sets(draws.columns, scs, eng.info)
    for note in notes:
        click.echo(f"note: {note}", err=True)
    runs = run_scenarios([s.with_params(_central_params(central)) if central else s for s in scs], eng)
    table = indicator_table(runs)
    ensembles = ens_tab = beats = None
    store_root = out.parent / f".{out.name}.store"
    if draws is not None:
        ensembles = run_ensembles(scs, draws, engine=ensemble_engine, model=model, model_sha=eng.info.sha256,
                                  store_root=store_root, workers=workers, scheduler=scheduler,
                                  progress=not no_progress)
        ensembles, dropped = drop_failed(ensembles)
        if dropped:
            notes.append(f"{dropped} of {samples} draws failed in at least one scenario and were left out")
            click.echo(f"note: {notes[-1]}", err=True)
        ens_tab, beats = ensemble_table(ensembles), beat_shares(ensembles)
    sentences, ftable = findings(runs, ensembles)
    meta = {"model": f"{eng.info.path} (sha256 {eng.info.sha256[:12]})",
            "engine": engine + (f" (single runs), {ensemble_engine} (sampled runs)" if samples else ""),
            "span": f"{eng.info.initial_time:g}-{float(next(iter(runs.values()))['time'][-1]):g}",
            "draws": f"{samples} per scenario, seed {seed}, {source}" if samples else source}
    doc = build_report(runs, table, sentences, descriptions={s.name: s.description for s in scs}, meta=meta,
                       ensembles=ensembles, ensemble_tab=ens_tab, beats=beats,
                       effects_table=ftable if ensembles is not None else None)
    with atomic_dir(out) as tmp:
        atomic_write_text(tmp / "report.html", doc)
        atomic_write_text(tmp / "indicators.csv", table.to_csv(index=False))
        atomic_write_text(tmp / "findings.csv", ftable.to_csv(index=False))
        for name, ds in runs.items():
            write_results(ds, tmp / "runs", fmt, stem=name)
        if ensembles is not None:
            atomic_write_text(tmp / "indicators_ensemble.csv", ens_tab.to_csv(index=False))
            atomic_write_text(tmp / "beat_shares.csv", beats.to_csv(index=False))
            atomic_write_text(tmp / "parameter_sets.csv", draws.to_csv(index_label="member"))
            (tmp / "ensembles").mkdir()
            for name, ds in ensembles.items():
                _write_table(_ensemble_tidy(ds), tmp / "ensembles", name, fmt)
        extra = {"scenarios": {s.name: s.to_dict() for s in scs}, "samples": samples, "draws": source,
                 "notes": notes, "central_parameters": central, "format": fmt}
        atomic_write_json(tmp / "manifest.json",
                          build_manifest(eng.info, scs[0], engine, seed=seed if samples else None, extra=extra))
    shutil.rmtree(store_root, ignore_errors=True)
    for sentence in sentences:
        click.echo(sentence)
    click.echo(f"report: {out / 'report.html'}")
