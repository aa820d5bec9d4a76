"""The report as one self-contained HTML document, rendered from ``sd_model/templates/report.html`` (Jinja2).

Figures are embedded as base64 PNG; every text the user wrote (scenario names and
descriptions) is escaped by the template.
"""
from __future__ import annotations

import base64
import re
from collections.abc import Mapping, Sequence
from typing import Any

import jinja2
import matplotlib.pyplot as plt
import pandas as pd
import xarray as xr

from ..plotting import STANDARD_PLOTS, figure_png, readable_units
from .figures import plot_effect_bands, plot_fan_grid, plot_fans, plot_national
from .narrative import _num, _pct, _signed

#: Indicators shown in the report's tables (the CSV files hold them all).
HEADLINE = ("East West Ratio", "Theil Index", "Coefficient of Variation", "National GDP", "GDP per Capita")
_GRID_VARS = ("East West Ratio", "Theil Index", "National GDP")
_MAX_OVERLAID = 6  # more scenarios than this are drawn as small multiples, not on one axis
_MAX_REGIONAL = 3  # the regional standard plots show the first three scenarios
_TEMPLATES = jinja2.Environment(loader=jinja2.PackageLoader("sd_model", "templates"), autoescape=True,
                                undefined=jinja2.StrictUndefined)


def _img(fig: plt.Figure, alt: str) -> dict[str, str]:
    return {"alt": alt, "data": base64.b64encode(figure_png(fig)).decode("ascii")}


def _headline_html(table: pd.DataFrame, cell: Any) -> str:
    """The headline indicators of ``table`` as an HTML table, a column per scenario; ``cell(rows)``: the cells."""
    t = table[table["variable"].isin(HEADLINE)]
    t = t.assign(cell=cell(t), units=t["units"].astype(str).map(readable_units))
    wide = t.pivot_table(index=["indicator", "units", "year"], columns="scenario", values="cell", aggfunc="first",
                         sort=False)
    return wide[list(dict.fromkeys(t["scenario"]))].to_html(escape=True)


def _indicator_html(table: pd.DataFrame) -> str:
    def cells(t: pd.DataFrame) -> list[str]:  # the first scenario's values, the others' differences from it
        first = t["scenario"].iloc[0]
        return [(_num(v) if s == first else f"{_num(v)} ({_signed(d)}, {_pct(p)})")
                for s, v, d, p in zip(t["scenario"], t["value"], t["difference"], t["percent"])]

    return _headline_html(table, cells)


def _ensemble_html(table: pd.DataFrame) -> str:
    return _headline_html(table, lambda t: [f"{_num(m)} [{_num(lo)}, {_num(hi)}]"
                                            for m, lo, hi in zip(t["median"], t["p05"], t["p95"])])


def _beats_html(beats: pd.DataFrame, only_with: str | None) -> str:
    t = beats[beats["indicator"].isin(HEADLINE[:4])].copy()
    if only_with is not None:
        t = t[(t["scenario_a"] == only_with) | (t["scenario_b"] == only_with)]
    t["pair"] = t["scenario_a"] + " vs " + t["scenario_b"]
    t["cell"] = [f"{100 * a:.0f}% / {100 * b:.0f}%" + (f" (tied {100 * c:.0f}%)" if c > 0 else "")
                 for a, b, c in zip(t["a_better"], t["b_better"], t["tied"])]
    return t.pivot_table(index=["pair", "indicator"], columns="year", values="cell", aggfunc="first",
                         sort=False).to_html(escape=True)


def build_report(runs: Mapping[str, xr.Dataset], table: pd.DataFrame, sentences: Sequence[str], *,
                 descriptions: Mapping[str, str], meta: Mapping[str, Any],
                 ensembles: Mapping[str, xr.Dataset] | None = None, ensemble_tab: pd.DataFrame | None = None,
                 beats: pd.DataFrame | None = None, effects_table: pd.DataFrame | None = None,
                 reference: str | None = None, sections: Sequence[str] = (),
                 observed: Mapping[str, xr.DataArray] | None = None) -> str:
    """Assemble the self-contained HTML report.

    Parameters
    ----------
    runs : single runs, scenario -> Dataset (the first is the reference of the tables).
    table : :func:`sd_model.indicators.indicator_table` of ``runs``.
    sentences : findings from :func:`sd_model.report.findings`.
    descriptions : scenario -> description.
    meta : settings shown at the top (model hash, engine, span, samples, seed, source).
    ensembles, ensemble_tab, beats, effects_table : with sampled parameters, the ensembles,
        :func:`sd_model.indicators.ensemble_table`, :func:`sd_model.indicators.beat_shares`
        and the table of :func:`sd_model.report.findings` (for the plot of effects with bands).
    reference : the scenario each fan chart panel is drawn against. Default is the first.
    sections : further HTML sections (already escaped) appended at the end, e.g. the structure section.
    observed : observed series (:func:`sd_model.observed.observed_indicators`), drawn as dots on
        the single runs' regional plots.

    Returns
    -------
    str, the HTML document.
    """
    first = next(iter(runs))
    uncertainty = None
    if ensembles:
        against = reference if reference is not None and reference in ensembles else next(iter(ensembles))
        fans = [_img(plot_fans(ensembles), "fan charts")] if len(ensembles) <= _MAX_OVERLAID else []
        fans += [_img(plot_fan_grid(ensembles, var, against), f"{var} fans") for var in _GRID_VARS]
        effects = (_img(plot_effect_bands(effects_table), "effects with bands")
                   if effects_table is not None and "pct_p05" in effects_table else None)
        uncertainty = {"n": next(iter(ensembles.values())).sizes["member"], "effects": effects, "fans": fans}
    regional = dict(list(runs.items())[:_MAX_REGIONAL])
    many = len(runs) > _MAX_OVERLAID
    return _with_contents(_TEMPLATES.get_template("report.html").render(
        runs=list(runs), meta={str(k): str(v) for k, v in meta.items()}, descriptions=descriptions,
        sentences=sentences, uncertainty=uncertainty, national=_img(plot_national(runs), "national indicators"),
        regional=list(regional), more_runs=len(runs) > _MAX_REGIONAL,
        regional_figures=[_img(make(regional, observed), name) for name, make in STANDARD_PLOTS.items()
                          if name != "disparity"],
        first=first, indicator_table=_indicator_html(table),
        ensemble_table=_ensemble_html(ensemble_tab) if ensemble_tab is not None else "",
        beats_table=_beats_html(beats, first if many else None) if beats is not None and len(beats) else "",
        many=many, sections=list(sections)))


def _with_contents(doc: str) -> str:
    """Give every ``<h2>`` an id and put a table of contents linking to them before the first one."""
    titles: list[str] = []

    def anchor(match: re.Match) -> str:
        titles.append(match.group(1))
        return f"<h2 id='s{len(titles)}'>{match.group(1)}</h2>"

    doc = re.sub(r"<h2>(.*?)</h2>", anchor, doc)
    toc = ("<nav><h2 style='font-size:1em'>Contents</h2><ol>"
           + "".join(f"<li><a href='#s{i}'>{t}</a></li>" for i, t in enumerate(titles, 1)) + "</ol></nav>")
    first = doc.find("<h2 id='s1'>")
    return doc if first < 0 else doc[:first] + toc + doc[first:]
