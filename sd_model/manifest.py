"""Run manifests: what is needed to repeat a run exactly.

Every output folder carries ``manifest.json`` with the model file's SHA-256, the
scenario and every parameter value used, the engine and its time settings, the seed
(for sampled runs), the command, and the versions of Python and the packages involved.
"""
from __future__ import annotations

import platform
import sys
from datetime import datetime, timezone
from importlib import metadata
from typing import Any

_PACKAGES = ("sd-model", "pysd", "pysimlin", "numpy", "pandas", "xarray", "scipy",
             "matplotlib", "click", "dask", "distributed", "SALib")


def package_versions() -> dict[str, str]:
    """Installed versions of Python and the packages a run depends on ("absent" if missing)."""
    out = {"python": platform.python_version()}
    for name in _PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "absent"
    return out


def build_manifest(info: Any, scenario: Any, engine: str, *, seed: int | None = None,
                   extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """Assemble a manifest.

    Parameters
    ----------
    info : sd_model.mdl.ModelInfo of the model run.
    scenario : the validated Scenario (its overrides are recorded, and the full set of
        constant values in effect: model defaults with the overrides laid over).
    engine : "pysd" or "simlin".
    seed : random seed of sampled runs, None otherwise.
    extra : further entries (e.g. output format, sample sizes).
    """
    effective: dict[str, Any] = {}
    for name, var in sorted(info.constants().items()):
        value = var.default
        over = scenario.params.get(name)
        if over is not None:
            value = {**value, **over} if isinstance(value, dict) else over
        effective[name] = dict(value) if isinstance(value, dict) else value
    return {
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "command": " ".join(sys.argv),
        "model": {"path": str(info.path), "sha256": info.sha256},
        "engine": engine,
        "time": {
            "initial_time": info.initial_time,
            "final_time": scenario.final_time if scenario.final_time is not None else info.final_time,
            "time_step": scenario.time_step if scenario.time_step is not None else info.time_step,
            "saveper": info.saveper,
        },
        "scenario": scenario.to_dict(),
        "parameters": effective,
        "seed": seed,
        "versions": package_versions(),
        **(extra or {}),
    }
