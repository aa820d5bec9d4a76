"""``sd-model explore``: an interactive policy explorer in the browser.

- :mod:`.controls`: the controls, read from the model (levers) and a ranges file (uncertain parameters).
- :mod:`.figures`: the charts as Plotly figure dicts; observed series; ensemble bands.
- :mod:`.explorer`: control values -> scenario -> run -> figures (what a redraw does).
- :mod:`.scenario_file`: save and load the page's scenario as TOML.
- :mod:`.app`: the Dash page and the local server.

The library is Dash (Plotly): callbacks are plain functions of what the browser sends, so the
server keeps no per-page state and every redraw is testable without a browser; the charts are
JSON that a test reads back from the page; it serves its own JavaScript (no network needed).
"""
from __future__ import annotations

from pathlib import Path



def open_page(scenario_path: str | Path, *, port: int = 0, engine: str = "simlin", model: str | Path | None = None,
              ranges_file: str | Path | None = None, bands_file: str | Path | None = None, announce=print) -> None:
    """Load the model, build the explorer for ``scenario_path`` and serve it until interrupted."""
    from ..run import load_engine
    from ..scenario import load_scenario
    from .app import build_app, serve
    from .explorer import DEFAULT_RANGES, open_explorer

    explorer = open_explorer(load_engine(engine, model), load_scenario(scenario_path),
                             ranges_file=DEFAULT_RANGES if ranges_file is None else ranges_file, bands_file=bands_file)
    serve(build_app(explorer), port=port, announce=announce)
