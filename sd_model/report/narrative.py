"""The report's narrative: findings as sentences, and the table of numbers behind them."""
from __future__ import annotations

from collections.abc import Mapping

import pandas as pd
import xarray as xr

from ..indicators import effects

_NO_EFFECT_PCT = 0.01  # |effect| below this percentage on every indicator counts as "no visible effect"


def _num(x: float) -> str:
    return f"{x:,.0f}" if abs(x) >= 1000 else f"{x:.3g}"


def _signed(x: float) -> str:
    return ("+" if x > 0 else "") + _num(x)


def _pct(x: float) -> str:
    """Signed percentage: one decimal, or two significant digits below 0.1%."""
    if pd.isna(x):
        return "n/a"
    return f"{x:+.1f}%" if abs(x) >= 0.1 or x == 0 else f"{x:+.2g}%"


def _band(row: pd.Series, n: int | None) -> str:
    if "pct_p05" not in row or pd.isna(row.get("pct_p05")):
        return ""
    return (f"; 90% band of the change over {n} draws {_pct(row['pct_p05'])} to {_pct(row['pct_p95'])}, "
            f"better in {100 * row['improved']:.0f}% of draws")


#: How findings name the indicators.
_LABELS = {"East West Ratio": "East/West GDP-per-capita ratio", "Theil Index": "Theil index",
           "Coefficient of Variation": "coefficient of variation",
           "National GDP": "national GDP (billion yuan/year, 2000 prices)"}


def _change(row: pd.Series, n: int | None, label: bool = True) -> str:
    name = f"{_LABELS.get(row['indicator'], row['indicator'])} " if label else ""
    return (f"{name}{_num(row['value'])} against {_num(row['reference_value'])} "
            f"({_signed(row['difference'])}, {_pct(row['percent'])}{_band(row, n)})")


def _no_history_finding(treated: str | None, counterfactual: str | None, last: float, year: float) -> str | None:
    """Why there is no baseline-versus-counterfactual finding, or None when there is nothing to explain.

    A comparison that declares neither role is about something else and gets no note.
    """
    if not treated and not counterfactual:
        return None
    if not counterfactual:
        return (f"No baseline-versus-counterfactual finding: no scenario has role = \"counterfactual\" "
                f"(such as 'unbalanced') to compare the baseline '{treated}' with.")
    if not treated:
        return (f"No baseline-versus-counterfactual finding: no scenario has role = \"baseline\" "
                f"(such as 'historical') to compare with the counterfactual '{counterfactual}'.")
    return (f"No baseline-versus-counterfactual finding: the runs end in {last:g}, before {int(year)}; "
            f"run them to {int(year)} or later.")


def findings(runs: Mapping[str, xr.Dataset], ensembles: Mapping[str, xr.Dataset] | None = None,
             roles: Mapping[str, str] | None = None, history_year: float = 2015,
             forward_year: float = 2050) -> tuple[list[str], pd.DataFrame]:
    """Generated findings, as short sentences naming their scenarios, and the table of numbers behind them.

    The scenarios' declared roles (:data:`sd_model.scenario.ROLES`) decide what is compared:

    1. With a "baseline" and a "counterfactual" scenario: whether and by how much the
       baseline narrowed the East/West ratio and the Theil index by ``history_year``
       relative to the counterfactual. When only one of the roles is declared, or the runs
       end too early, a sentence says why this finding is missing.
    2. Every scenario without a role against the baseline (else the first scenario) in
       ``forward_year``: East/West ratio, Theil index, national GDP.

    Parameters
    ----------
    runs : scenario -> single run.
    ensembles : scenario -> ensemble over common draws. Default is None (no bands).
    roles : scenario -> declared role ("baseline", "counterfactual" or ""). Default is None (no roles).
    history_year, forward_year : years of the two findings. Defaults are 2015 and 2050.

    Returns
    -------
    (sentences, table): plain-text sentences, and the :func:`sd_model.indicators.effects`
    rows behind them with a column ``finding`` ("history" or "forward").
    """
    roles = roles or {}
    n = None if not ensembles else int(next(iter(ensembles.values())).sizes["member"])
    sentences, tables = [], []
    treated = next((s for s in runs if roles.get(s) == "baseline"), None)
    counterfactual = next((s for s in runs if roles.get(s) == "counterfactual"), None)
    last = min(float(ds["time"][-1]) for ds in runs.values())
    if counterfactual and treated and last >= history_year:
        eff = effects(runs, counterfactual, history_year, ("East West Ratio", "Theil Index"), ensembles, [treated])
        tables.append(eff.assign(finding="history"))
        for _, row in eff.iterrows():
            verb = "narrowed" if row["difference"] < 0 else "widened"
            sentences.append(f"By {int(history_year)}, scenario '{treated}' (the baseline) {verb} the "
                             f"{_LABELS[row['indicator']]} against scenario '{counterfactual}' (the "
                             f"counterfactual): {_change(row, n, label=False)}.")
    else:
        reason = _no_history_finding(treated, counterfactual, last, history_year)
        if reason:
            sentences.append(reason)
    baseline = treated or next(iter(runs))
    others = [s for s in runs if s != baseline and not roles.get(s)]
    if others and last >= forward_year:
        eff = effects(runs, baseline, forward_year, ensembles=ensembles, scenarios=others)
        tables.append(eff.assign(finding="forward"))
        for name, block in eff.groupby("scenario", sort=False):
            if (block["percent"].abs() < _NO_EFFECT_PCT).all():
                sentences.append(f"Scenario '{name}': no visible effect by {int(forward_year)} (every indicator "
                                 f"within {_NO_EFFECT_PCT}% of '{baseline}').")
                continue
            for _, row in block.iterrows():  # one short sentence per indicator
                sentences.append(f"Scenario '{name}' against '{baseline}', {int(forward_year)}: {_change(row, n)}.")
    table = pd.concat(tables, ignore_index=True) if tables else pd.DataFrame()
    return sentences, table
