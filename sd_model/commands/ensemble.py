"""``sd-model ensemble``: sample uncertain parameters and run the model once per sample."""
from __future__ import annotations

import json
import shutil
import time
import warnings
from dataclasses import replace
from pathlib import Path

import click
import pandas as pd
import xarray as xr

from ..engines import DEFAULT_ENSEMBLE_ENGINE
from ..ensemble import EnsembleWarning, run_ensemble
from ..errors import SDModelError
from ..files import atomic_write_bytes, atomic_write_json, atomic_write_netcdf, atomic_write_text
from ..manifest import build_manifest
from ..mdl import read_model_info
from ..sampling import METHODS, load_ranges, sample_parameters
from ..scenario import Scenario, load_scenario, validate
from .options import engine_option, model_option

DEFAULT_OUTPUTS = ("National GDP", "GDP per Capita", "Theil Index", "Loan Share", "Net Credit Outflow")
_STORE = "chunks"


def _write_results(ds: xr.Dataset, folder: Path, fmt: str) -> Path:
    """Write the ensemble atomically as NetCDF (the Dataset) or Parquet (long table)."""
    if fmt == "netcdf":
        return atomic_write_netcdf(folder / "ensemble.nc", ds)
    frames = []
    for name in ds.data_vars:
        if name in ("failed", "message"):
            continue
        df = ds[name].to_dataframe(name="value").reset_index()
        df.insert(1, "variable", name)
        for col in ("Region", "Dest"):
            if col not in df:
                df[col] = ""
        frames.append(df[["member", "variable", "time", "Region", "Dest", "value"]])
    import io

    buf = io.BytesIO()
    pd.concat(frames, ignore_index=True).to_parquet(buf, index=False)
    return atomic_write_bytes(folder / "ensemble.parquet", buf.getvalue())


@click.command("ensemble")
@click.option("--samples", "-n", type=click.IntRange(min=1), required=True, help="Number of members (runs).")
@click.option("--ranges", "ranges_file", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="TOML file with a [ranges] table: \"Name\" = [low, high] or \"Name[East]\" = [low, high].")
@click.option("--scenario", "-s", "scenario_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Scenario every member starts from. Default: the model's own values.")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True,
              help="Random seed: the same seed, ranges and sample count give identical results.")
@click.option("--method", type=click.Choice(METHODS), default="lhs", show_default=True,
              help="Latin hypercube or independent uniform draws.")
@click.option("--outputs", default=",".join(DEFAULT_OUTPUTS), show_default=True,
              help="Comma-separated Vensim variables to keep (arrays keep their Region/Dest dims).")
@click.option("--until", type=float, default=None, help="Final year (overrides the scenario's).")
@engine_option(DEFAULT_ENSEMBLE_ENGINE)
@click.option("--workers", type=click.IntRange(min=1), default=None,
              help="Local worker processes. Default: all cores.")
@click.option("--scheduler", default=None, metavar="ADDRESS",
              help="Run on a Dask cluster instead, e.g. tcp://127.0.0.1:8786 (see docs/ensembles.md).")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("results/ensemble"),
              show_default=True, help="Output folder.")
@click.option("--format", "fmt", type=click.Choice(["netcdf", "parquet"]), default="netcdf", show_default=True,
              help="netcdf: ensemble.nc (xarray Dataset, dims member x time x Region/Dest); "
                   "parquet: ensemble.parquet (long table member, variable, time, Region, Dest, value).")
@click.option("--resume", is_flag=True, help="Continue an interrupted ensemble in --out (finished chunks are kept).")
@click.option("--no-progress", is_flag=True, help="Hide the progress bar.")
@model_option
def ensemble_command(samples, ranges_file, scenario_file, seed, method, outputs, until, engine, workers, scheduler,
                     out, fmt, resume, no_progress, model):
    """Run the model once per sampled parameter set (an ensemble).

    Samples SAMPLES parameter sets from the ranges file (reproducibly from --seed), lays each
    over the scenario and runs them all on every local core, or on a Dask cluster with
    --scheduler. Writes into OUT: parameters.csv (the samples, then with 'failed' and
    'message' columns), ensemble.nc or ensemble.parquet, and manifest.json (model hash,
    scenario, seed, ranges, versions). Finished chunks are kept in OUT/chunks while it runs:
    if it is interrupted, the same command with --resume continues where it stopped.

    \b
    Example (10,000 runs to 2100 on all cores):
      sd-model ensemble --samples 10000 --ranges experiments/ranges/default.toml \\
          --scenario experiments/historical.toml --seed 1 --out results/ens
    """
    info = read_model_info(model)
    ranges = load_ranges(ranges_file, info)
    scenario = load_scenario(scenario_file) if scenario_file else Scenario(name="default")
    names = [n.strip() for n in outputs.split(",") if n.strip()]
    valid = validate(scenario if until is None else replace(scenario, final_time=float(until)), info)
    record = {"samples": samples, "seed": seed, "method": method, "ranges_file": str(ranges_file),
              "ranges": {k: list(v) for k, v in ranges.items()}, "outputs": names, "engine": engine,
              "until": until, "scenario": valid.name}
    manifest_path = out / "manifest.json"
    if out.exists() and any(out.iterdir()):
        if not resume:
            raise SDModelError(f"{out}: folder exists and is not empty; pass --resume to continue the ensemble "
                               "in it, or choose another --out")
        if manifest_path.is_file() and not (out / _STORE).exists():
            done = json.loads(manifest_path.read_text(encoding="utf-8")).get("ensemble", {})
            changed = [k for k in record if done.get(k) != record[k]]
            if changed:
                raise SDModelError(f"{out}: holds a finished ensemble made with a different {changed[0]} "
                                   f"({done.get(changed[0])!r}, now {record[changed[0]]!r}); choose another --out")
            click.echo(f"{out}: ensemble already complete ({samples} members); nothing to do")
            return
    sets = sample_parameters(ranges, samples, seed, method)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out / "parameters.csv", sets.to_csv())
    start = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", EnsembleWarning)
        ds = run_ensemble(scenario, sets, names, engine=engine, model=model, until=until, store=out / _STORE,
                          workers=workers, scheduler=scheduler, progress=not no_progress)
    elapsed = time.perf_counter() - start
    for w in caught:
        if issubclass(w.category, EnsembleWarning):
            click.echo(f"warning: {w.message}", err=True)
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    path = _write_results(ds, out, fmt)
    table = sets.assign(failed=ds["failed"].values, message=ds["message"].values)
    atomic_write_text(out / "parameters.csv", table.to_csv())
    extra = {"ensemble": record, "format": fmt, "files": [path.name, "parameters.csv"],
             "failed_members": int(ds.attrs["failed_members"]), "elapsed_seconds": round(elapsed, 3),
             "ensemble_sha256": ds.attrs["ensemble_sha256"], "scheduler": scheduler, "workers": workers}
    atomic_write_json(manifest_path, build_manifest(info, valid, engine, seed=seed, extra=extra))
    shutil.rmtree(out / _STORE, ignore_errors=True)
    click.echo(f"{samples} runs ({engine}) in {elapsed:.1f} s, {int(ds.attrs['failed_members'])} failed -> {path}")
