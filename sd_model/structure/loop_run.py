"""``sd-model loops`` end to end: scenario -> loop analysis -> tables, plot, summary text."""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ..files import atomic_dir
from ..run import load_engine, run_scenario
from ..scenario import Scenario, load_scenario, validate
from .loops import DEFAULT_LOOPS, analyze_loops
from .loops_report import dominance_plot, format_summary, loop_table, named_links_table, named_table, period_table

__all__ = ["run_loops"]

INDICATORS = ("GDP", "Loans", "East West Ratio")


def run_loops(model: str | Path, scenario_path: str | Path | None, start: float | None, end: float | None,
              top: int, out: str | Path, force: bool = False,
              loops_file: str | Path | Sequence[str | Path] | None = None) -> str:
    """Analyse the loops of one scenario and return the summary text.

    Writes loops.csv (every discovered loop), periods.csv, named_loops.csv, named_links.csv and
    dominance.png to the folder ``out/<scenario>`` (built aside and swapped in; a folder that
    ``sd-model loops`` did not write is only replaced with ``force``). ``loops_file``: one named-loops
    TOML or several scored together (default :data:`~sd_model.structure.loops.DEFAULT_LOOPS`).
    """
    scenario = load_scenario(scenario_path) if scenario_path else Scenario(name="default")
    a = analyze_loops(model, scenario, start=start, end=end, loops_file=loops_file or DEFAULT_LOOPS)
    eng = load_engine("simlin", model)
    sc = validate(scenario, eng.info)
    ds = run_scenario(sc, eng, outputs=list(INDICATORS), until=a.window[1])
    ind = {}
    for name in INDICATORS:
        da = ds[name]
        if "Region" in da.dims:
            for r in da["Region"].values:
                ind[f"{name}[{r}]"] = da.sel(Region=r).to_pandas()
        else:
            ind[name] = da.to_pandas()
    import pandas as pd

    out = Path(out) / a.scenario
    with atomic_dir(out, "loops", force) as tmp:
        loop_table(a).to_csv(tmp / "loops.csv", index=False)
        period_table(a, top=max(top, 20)).to_csv(tmp / "periods.csv")
        named_table(a).to_csv(tmp / "named_loops.csv", index=False)
        named_links_table(a).to_csv(tmp / "named_links.csv", index=False)
        dominance_plot(a, pd.DataFrame(ind), tmp / "dominance.png")
    files = "loops.csv, periods.csv, named_loops.csv, named_links.csv, dominance.png"
    return format_summary(a, top) + f"\n\nwritten: {out}/{files}"
