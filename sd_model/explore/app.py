"""The explorer's web page (Dash): controls from the model, charts, save and load, and the local server.

Layout: a column of controls grouped by lever (then the uncertain parameters), each a slider
with a number field (``dcc.Slider(allow_direct_input=True)``) labelled with its units and valid
range, its model comment as a tooltip; a row to name, save and load the scenario; the charts.
The browser keeps the page's state (control values, and in a ``dcc.Store`` the base scenario:
the one the explorer started with, or the last loaded file); each callback is a pure function
of what the browser sends (:mod:`sd_model.explore.explorer`).
"""
from __future__ import annotations

import base64
import binascii
import time
from collections.abc import Mapping
from typing import Any

from dash import ALL, Dash, Input, Output, State, callback_context, dcc, html, no_update
from werkzeug.serving import make_server

from ..errors import SDModelError
from ..scenario import Scenario, check_name, validate
from .controls import PARAMETER_GROUP, Control, check_values, current_values
from .explorer import Explorer, page_scenario, redraw
from .scenario_file import scenario_from_text, scenario_toml

_CTL = "ctl"      # the number field: the control's value
_SLIDE = "slide"  # the slider beside it
_ERR = "err"


def _base_store(scenario: Scenario) -> dict[str, Any]:
    return {"name": scenario.name, "description": scenario.description,
            "params": {k: (dict(v) if isinstance(v, Mapping) else v) for k, v in scenario.params.items()},
            "final_time": scenario.final_time, "time_step": scenario.time_step}


def _base_from_store(data: Mapping[str, Any]) -> Scenario:
    return Scenario(name=data["name"], description=data["description"], params=data["params"],
                    final_time=data["final_time"], time_step=data["time_step"])


def _control(c: Control, value: float) -> html.Div:
    valid = f"{c.lo:g}–{c.hi:g}"
    extra = f"; ensembles sample {c.plausible[0]:g}–{c.plausible[1]:g}" if c.plausible else ""
    units = "" if c.units in ("dmnl", "1") else f" [{c.units.replace('_', ' ')}]"
    ident = {"key": c.key}
    return html.Div([
        html.Label(f"{c.label}{units}", title=c.comment, className="ctl-label"),
        html.Div([
            dcc.Slider(id={"type": _SLIDE, **ident}, min=c.lo, max=c.hi, step=c.step, value=value, marks=None,
                       updatemode="mouseup", className="ctl-slider"),
            # the value of record: a number field the browser never clamps, so that a value out of range
            # reaches the server and is refused there with the valid range
            dcc.Input(id={"type": _CTL, **ident}, type="number", value=value, step="any", debounce=True,
                      className="ctl-field", name=c.key),
        ], className="ctl-row"),
        html.Div(f"valid {valid}{extra}", className="ctl-range"),
        html.Div(id={"type": _ERR, **ident}, className="ctl-error", role="alert"),
    ], className="ctl", title=c.comment)


def _controls_panel(explorer: Explorer) -> list:
    values = explorer.start_values
    groups: dict[str, list[Control]] = {}
    for c in explorer.controls:
        groups.setdefault(c.group, []).append(c)
    out = []
    for group, controls in groups.items():
        first = controls[0]
        title = group if group == PARAMETER_GROUP else f"{group} (lever)"
        summary = html.Summary(title, title=first.comment)
        out.append(html.Details([summary, *[_control(c, values[c.key]) for c in controls]],
                                open=group != PARAMETER_GROUP, className="group"))
    return out


_CSS = """
body { font-family: system-ui, sans-serif; margin: 0; }
.top { padding: 6px 12px; background: #f3f5f8; border-bottom: 1px solid #ccd; }
.top h1 { font-size: 18px; margin: 2px 0; }
.main { display: flex; height: calc(100vh - 110px); }
.side { width: 360px; overflow-y: auto; padding: 6px 10px; border-right: 1px solid #ccd; font-size: 13px; }
.charts { flex: 1; overflow-y: auto; display: grid; grid-template-columns: repeat(auto-fill, minmax(460px, 1fr)); }
.group summary { font-weight: 600; cursor: pointer; margin-top: 6px; }
.ctl { margin: 4px 0 8px 6px; }
.ctl-row { display: flex; align-items: center; gap: 6px; }
.ctl-slider { flex: 1; }
.ctl-field { width: 80px; }
.ctl-range { color: #667; font-size: 11px; }
.ctl-error, .error { color: #b00020; font-weight: 600; }
.ok { color: #1b6c2a; }
.bar { display: flex; gap: 8px; align-items: center; flex-wrap: wrap; font-size: 13px; }
.legend-note { color: #445; font-size: 12px; }
"""


def build_app(explorer: Explorer) -> Dash:
    """The Dash app of ``explorer`` (not started; see :func:`serve`)."""
    app = Dash(__name__, title="sd-model explore", update_title=None)  # type: ignore[arg-type]  # None: no "Updating..."
    app.index_string = app.index_string.replace("{%css%}", "{%css%}<style>" + _CSS + "</style>")
    band_note = (f" Shaded: 5–95% band of the ensemble {explorer.bands_source} (fixed; it does not follow the "
                 "controls)." if explorer.bands else "")
    app.layout = html.Div([
        html.Div([
            html.H1("sd-model explore: finance and growth across China's four regions"),
            html.Div([
                html.Span("Scenario name"),
                dcc.Input(id="scenario-name", type="text", value=f"{explorer.base.name}_explored", debounce=True,
                          style={"width": "220px"}),
                html.Button("Save as scenario (TOML)", id="save"),
                dcc.Download(id="download"),
                dcc.Upload(html.Button("Load scenario…"), id="upload", accept=".toml"),
                html.Span(id="file-status", role="status"),
                html.Span(id="status", role="status"),
            ], className="bar"),
            html.Div(f"Solid: your scenario. Dashed: the baseline '{explorer.base.name}' (the scenario the explorer "
                     f"started with). Dots: observed 1978–2015 (data/raw).{band_note}", className="legend-note"),
        ], className="top"),
        html.Div([
            html.Div(_controls_panel(explorer), className="side"),
            html.Div([dcc.Graph(id=f"chart-{c.id}", config={"displaylogo": False}) for c in explorer.charts],
                     className="charts"),
        ], className="main"),
        dcc.Store(id="base", data=_base_store(explorer.base)),
    ])
    _callbacks(app, explorer)
    return app


def _callbacks(app: Dash, explorer: Explorer) -> None:
    keys = [c.key for c in explorer.controls]
    info = explorer.engine.info

    def values_of(states: list[dict], values: list) -> dict[str, object]:
        return {s["id"]["key"]: v for s, v in zip(states, values)}

    @app.callback(
        [Output(f"chart-{c.id}", "figure") for c in explorer.charts]
        + [Output({"type": _ERR, "key": ALL}, "children"), Output("status", "children"), Output("status", "className")],
        Input({"type": _CTL, "key": ALL}, "value"),
        Input("base", "data"),
    )
    def on_change(values, base):
        started = time.perf_counter()
        given = values_of(callback_context.inputs_list[0], values)
        try:
            figs, errors = redraw(explorer, _base_from_store(base), given)
        except SDModelError as exc:  # a value the model refuses beyond its declared range
            figs, errors = {}, {"": str(exc)}
        shown = [errors.get(k, "") for k in (s["id"]["key"] for s in callback_context.outputs_list[-3])]
        if errors:
            n = len(errors)
            msg = (f"{n} value{'s' if n > 1 else ''} refused (see the red note{'s' if n > 1 else ''}); "
                   "the charts still show the last valid scenario")
            if "" in errors:
                msg = errors[""]
            return [no_update] * len(explorer.charts) + [shown, msg, "error"]
        ms = 1000 * (time.perf_counter() - started)
        return [figs[c.id] for c in explorer.charts] + [shown, f"redrawn in {ms:.0f} ms (run + figures, server)", "ok"]

    @app.callback(
        Output({"type": _SLIDE, "key": ALL}, "value"),
        Output({"type": _CTL, "key": ALL}, "value", allow_duplicate=True),
        Input({"type": _SLIDE, "key": ALL}, "value"), Input({"type": _CTL, "key": ALL}, "value"),
        prevent_initial_call=True,
    )
    def on_slide(slides, fields):
        """A moved slider sets its field; a valid number typed in a field moves its slider."""
        trig = callback_context.triggered_id
        same_slides, same_fields = [no_update] * len(slides), [no_update] * len(fields)
        if not trig:
            return same_slides, same_fields
        i = keys.index(trig["key"])
        if trig["type"] == _SLIDE:
            same_fields[i] = slides[i]
        elif explorer.controls[i].check(fields[i]) is None:
            same_slides[i] = fields[i]
        return same_slides, same_fields

    @app.callback(
        Output("download", "data"), Output("file-status", "children"), Output("file-status", "className"),
        Input("save", "n_clicks"),
        State({"type": _CTL, "key": ALL}, "value"), State({"type": _CTL, "key": ALL}, "id"),
        State("scenario-name", "value"), State("base", "data"),
        prevent_initial_call=True,
    )
    def on_save(_clicks, values, ids, name, base):
        given = {i["key"]: v for i, v in zip(ids, values)}
        try:
            check_name(name)
            errors = check_values(explorer.controls, given)
            if errors:
                raise SDModelError("not saved: " + next(iter(errors.values())))
            scenario = page_scenario(explorer, _base_from_store(base), given, name=name)
        except SDModelError as exc:
            return no_update, str(exc), "error"
        scenario = Scenario(name=scenario.name, description=f"Saved from sd-model explore (base: {base['name']}).",
                            params=scenario.params, final_time=scenario.final_time, time_step=scenario.time_step)
        return (dict(content=scenario_toml(scenario, info), filename=f"{name}.toml", type="application/toml"),
                f"saved {name}.toml: run it with  sd-model run -s {name}.toml", "ok")

    @app.callback(
        Output({"type": _CTL, "key": ALL}, "value", allow_duplicate=True),
        Output({"type": _SLIDE, "key": ALL}, "value", allow_duplicate=True),
        Output("base", "data"), Output("scenario-name", "value"),
        Output("file-status", "children", allow_duplicate=True),
        Output("file-status", "className", allow_duplicate=True),
        Input("upload", "contents"), State("upload", "filename"),
        prevent_initial_call=True,
    )
    def on_load(contents, filename):
        nothing = [no_update] * len(keys)
        try:
            if not contents or "," not in contents:
                raise SDModelError(f"{filename}: empty file")
            try:
                text = base64.b64decode(contents.split(",", 1)[1]).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError):
                raise SDModelError(f"{filename}: not a UTF-8 text file; give a scenario TOML file") from None
            scenario = validate(scenario_from_text(text, filename or "uploaded.toml"), info)
        except SDModelError as exc:
            return nothing, nothing, no_update, no_update, f"not loaded: {exc}", "error"
        values = current_values(explorer.controls, scenario, info)
        shown = [values[k] for k in keys]
        return (shown, shown, _base_store(scenario), scenario.name,
                f"loaded {filename} ({scenario.name})", "ok")


def serve(app: Dash, port: int = 0, host: str = "127.0.0.1", announce=print) -> None:
    """Serve ``app`` on ``host`` (loopback only by default) until interrupted (Ctrl+C returns normally).

    Parameters
    ----------
    port : TCP port; 0 (default) takes a free one.
    announce : called once with the page's address when the server listens.

    Raises
    ------
    SDModelError
        If the port cannot be bound (in use, or not allowed).
    """
    try:
        server = make_server(host, port, app.server, threaded=True)
    except (OSError, SystemExit) as exc:
        raise SDModelError(f"cannot listen on {host}:{port} ({exc}); give another --port, or none for a free one"
                           ) from None
    try:
        announce(f"http://{host}:{server.server_port}/")
        server.serve_forever()
    except KeyboardInterrupt:  # Ctrl+C is how the user stops the page: not an error
        pass
    finally:
        server.server_close()
