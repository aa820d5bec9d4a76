"""Run manifests: what is needed to repeat a run exactly.

Every output folder carries ``manifest.json`` with the model file's SHA-256, the
scenario and every parameter value used, the engine and its time settings, the seed
(for sampled runs), the command, and the versions of Python and the packages involved.
"""
from __future__ import annotations

import platform
import sys
from datetime import datetime, UTC
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
    from .parameters import merge_params

    effective = merge_params({name: var.default for name, var in sorted(info.constants().items())}, scenario.params)
    return {
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
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


def load_manifest(path: Any) -> dict[str, Any]:
    """Read a ``manifest.json`` written by this package and check its shape.

    Raises
    ------
    SDModelError
        One line naming the file and the entry that is missing or of the wrong type.
    """
    import json
    from pathlib import Path

    from .errors import SDModelError
    from .files import read_input

    path = Path(path)
    if path.is_dir():
        path = path / "manifest.json"
    raw = read_input(path, "run manifest", SDModelError, MAX_MANIFEST_BYTES)
    try:
        manifest = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise SDModelError(f"{path}: not a readable manifest ({str(exc)[:200]})") from None
    if not isinstance(manifest, dict):
        raise SDModelError(f"{path}: not a run manifest (a JSON {type(manifest).__name__}, not an object)")
    missing = [k for k in ("model", "engine", "time", "scenario", "parameters") if k not in manifest]
    if missing:
        raise SDModelError(f"{path}: not a run manifest (missing {', '.join(missing)})")

    def bad(entry: str, want: str, got: Any) -> SDModelError:
        return SDModelError(f"{path}: {entry} must be {want}, got {json.dumps(got)[:80]}")

    for key in ("model", "time", "scenario", "parameters"):
        if not isinstance(manifest[key], dict):
            raise bad(key, "an object", manifest[key])
    entries: list[tuple[str, Any, Any, str]] = [  # (entry, value, type, what is valid)
        ("engine", manifest["engine"], str, "an engine name"),
        ("model.sha256", manifest["model"].get("sha256", ""), str, "a hex string"),
        *((f"time.{k}", manifest["time"].get(k), (int, float), "a number (years)")
          for k in ("final_time", "time_step")),
        ("format", manifest.get("format", "csv"), str, "a format name"),
        *((f"scenario.{k}", manifest["scenario"].get(k, ""), str, "a string") for k in ("name", "description")),
        *((f"parameters[{json.dumps(k)}]", v, (int, float), "a number or an object of element -> number")
          for k, v in manifest["parameters"].items())]
    for entry, value, kind, want in entries:
        values = value.values() if isinstance(value, dict) and entry.startswith("parameters[") else [value]
        if any(isinstance(v, bool) or not isinstance(v, kind) for v in values):
            raise bad(entry, want, value)
    return manifest


#: Largest manifest read (bytes): a manifest holds a few thousand numbers.
MAX_MANIFEST_BYTES = 20_000_000


def scenario_from_manifest(manifest: dict[str, Any], info: Any, *, allow_model_change: bool = False,
                           where: str = "manifest") -> Any:
    """The scenario that repeats a recorded run exactly: every constant value and the time settings.

    ``manifest`` is one checked by :func:`load_manifest`. Refuses (SDModelError) a model
    whose SHA-256 differs from the recorded one unless ``allow_model_change``; then
    constants the model no longer has are an error too.
    """
    from .errors import SDModelError
    from .scenario import Scenario

    recorded = manifest["model"].get("sha256", "")
    if recorded != info.sha256 and not allow_model_change:
        raise SDModelError(f"{where}: recorded with model sha256 {recorded[:12]}, but {info.path} has "
                           f"{info.sha256[:12]}; pass the original model with --model, or "
                           "--allow-model-change to rerun the recorded parameters on this one")
    time = manifest["time"]
    scenario = manifest["scenario"]
    return Scenario(name=str(scenario.get("name", "rerun")), description=str(scenario.get("description", "")),
                    params=dict(manifest["parameters"]), final_time=float(time["final_time"]),
                    time_step=float(time["time_step"]))
