"""Scenario TOML written by the explorer's "save", read back by its "load" and by ``sd-model run``.

The file is self-contained (no ``inherits``): it sets every parameter the page's scenario sets,
levers under ``[levers."<lever>"]`` and the rest under ``[params]``, each number written as
Python's shortest round-trip form so that reading it back gives the same floats and
``sd-model run -s FILE`` the same results as the page.
"""
from __future__ import annotations

import json
import tempfile
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path

from ..errors import ScenarioError
from ..mdl import ModelInfo
from ..parameters import lever_names
from ..scenario import Scenario, load_scenario

_LEVER_KEYS = (("start", "Start Year"), ("end", "End Year"), ("intensity", "Intensity"))


def _key(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)  # a TOML basic string is a JSON string


def _number(value: float) -> str:
    return repr(float(value))


def _value(value: float | Mapping[str, float]) -> str:
    if isinstance(value, Mapping):
        return "{ " + ", ".join(f"{_key(k)} = {_number(v)}" for k, v in value.items()) + " }"
    return _number(value)


def scenario_toml(scenario: Scenario, info: ModelInfo) -> str:
    """TOML text of a validated ``scenario`` (canonical names) that :func:`load_scenario` reads back equal.

    Parameters
    ----------
    scenario : the scenario shown on the page (name, description, params, time settings).
    info : the model, to tell levers from other constants.
    """
    lines = [f"name = {_key(scenario.name)}", f"description = {_key(scenario.description)}", ""]
    time = [(k, v) for k, v in (("final_time", scenario.final_time), ("time_step", scenario.time_step))
            if v is not None]
    if time:
        lines += ["[time]", *[f"{k} = {_number(v)}" for k, v in time], ""]
    params = dict(scenario.params)
    levers: dict[str, list[str]] = {}
    for lever in lever_names(info):
        for key, suffix in _LEVER_KEYS:
            name = f"{lever} {suffix}"
            if name in params:
                levers.setdefault(lever, []).append(f"{key} = {_value(params.pop(name))}")
    if params:
        lines += ["[params]", *[f"{_key(k)} = {_value(v)}" for k, v in sorted(params.items())], ""]
    for lever, settings in levers.items():
        lines += [f"[levers.{_key(lever)}]", *settings, ""]
    return "\n".join(lines)


def scenario_from_text(text: str, filename: str = "uploaded.toml") -> Scenario:
    """Read scenario TOML text (an uploaded file) as :func:`load_scenario` reads a file.

    ``inherits`` can name a shipped scenario (``historical``); any other parent cannot be found
    for a file that has no folder, and gives a :class:`ScenarioError` that says to start the
    explorer with ``--scenario FILE`` instead.
    """
    name = Path(filename).name or "uploaded.toml"
    with tempfile.TemporaryDirectory(prefix="sd-explore-") as tmp:
        path = Path(tmp) / name
        path.write_text(text, encoding="utf-8")
        try:
            scenario = load_scenario(path)
        except ScenarioError as exc:
            message = str(exc).replace(str(Path(tmp)) + "/", "")
            if "inherits" in message:
                message += ("; 'inherits' cannot be followed from an uploaded file: "
                            "start the explorer with --scenario FILE")
            raise ScenarioError(message) from None
    return replace(scenario, source=None)
