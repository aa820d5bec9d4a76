"""How much the long-run findings rest on the assumed saving rate after 2015.

The national savings rate (`National Savings Rate`) is data to 2015 (World Bank WDI, `Savings Rate
Path`) and an assumption after it: a decline from 0.47 in 2015 to 0.33 in 2050 and 0.28 in 2100, its
change from 2015 scaled by the constant `Savings Decline Scale` (default 1). For each scale s this
script writes a copy of the model with that constant set to s (s = 0: the rate stays at its 2015 level;
1: the shipped path; 1.5: half as much decline again), runs `sd-model findings` on each copy and prints
the figures of the long run side by side. 1978-2015 is the same run at every scale (checked: 2015
national GDP must agree to 1e-9).

python scripts/savings_path_variants.py                     # -> results/savings_path
python scripts/savings_path_variants.py --scales 0 1 2 --out /tmp/savings --force

Writes OUT/models/*.mdl (the copies), OUT/findings/<s>/ (each `sd-model findings` folder),
OUT/summary.csv and OUT/summary.md (one column per scale) and OUT/manifest.json. OUT is replaced only
if this script wrote it (else --force).
"""
from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sd_model.errors import SDModelError  # noqa: E402
from sd_model.files import atomic_dir, atomic_write_json, atomic_write_text, sha256_file  # noqa: E402
from sd_model.findings import figure_row, findings_to_folder  # noqa: E402
from sd_model.manifest import package_versions  # noqa: E402
from sd_model.mdl import read_model_info, set_constants  # noqa: E402
from sd_model.resources import DEFAULT_MODEL  # noqa: E402

SCALE = "Savings Decline Scale"
SCALES = (0.0, 0.5, 1.0, 1.5)

#: (finding, quantity, scenario, region, year, column of findings.csv) read for the summary; region "" is national.
ROWS: tuple[tuple[str, str, str, str, str, str], ...] = (
    ("historical run", "National GDP growth (compound)", "historical", "", "2015-2020", "value"),
    ("historical run", "National GDP growth (compound)", "historical", "", "2020-2030", "value"),
    ("historical run", "National GDP growth (compound)", "historical", "", "2030-2050", "value"),
    ("historical run", "National Credit to GDP", "historical", "", "2050", "value"),
    ("historical run", "National Credit to GDP", "historical", "", "2100", "value"),
    ("historical run", "East West Ratio", "historical", "", "2050", "value"),
    ("historical run", "East West Ratio", "historical", "", "2100", "value"),
    ("historical run", "Theil Index", "historical", "", "2050", "value"),
    ("credit rationing", "National New Lending / National Credit Demand", "historical", "", "2030", "value"),
    ("credit rationing", "National New Lending / National Credit Demand", "historical", "", "2050", "value"),
    *(("credit rationing", "private investment / Desired Investment", "historical", r, "2050", "value")
      for r in ("East", "Central", "West", "Northeast")),
    *(("forward levers", q, s, "", "2050", "percent")
      for s in ("differential_finance", "credit_guarantee", "balanced", "aid")
      for q in ("East West Ratio", "National GDP")),
)


def _pick(table: pd.DataFrame, finding: str, quantity: str, scenario: str, region: str, year: str,
          column: str) -> float:
    """One figure of a findings table."""
    row = figure_row(table, finding=finding, quantity=quantity, scenario=scenario, region=region, year=year)
    return float(row[column])


def summary(tables: dict[float, pd.DataFrame]) -> pd.DataFrame:
    """One row per figure of :data:`ROWS`, one column per scale."""
    index = [f"{f}: {q}, {s}{f' [{r}]' if r else ''}, {y}{' (% vs historical)' if c == 'percent' else ''}"
             for f, q, s, r, y, c in ROWS]
    return pd.DataFrame({f"scale {k:g}": [_pick(t, *row) for row in ROWS] for k, t in tables.items()},
                        index=pd.Index(index, name="figure"))


def to_markdown(table: pd.DataFrame) -> str:
    """The summary as a markdown table, four significant digits."""
    lines = ["| figure | " + " | ".join(table.columns) + " |", "|---|" + "---:|" * len(table.columns)]
    lines += ["| " + " | ".join([str(i), *(f"{v:.4g}" for v in row)]) + " |" for i, row in table.iterrows()]
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> None:
    """Write the model copies, run the findings on each and print the summary."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=str(DEFAULT_MODEL), help="Vensim model (default: the shipped model)")
    ap.add_argument("--scales", type=float, nargs="+", default=list(SCALES),
                    help="values of Savings Decline Scale (default: 0 0.5 1 1.5)")
    ap.add_argument("--out", type=Path, default=Path("results/savings_path"))
    ap.add_argument("--force", action="store_true", help="replace --out even if this script did not write it")
    args = ap.parse_args(argv)
    try:
        model = Path(args.model)
        text = model.read_text(encoding="utf-8")
        low, high = read_model_info(model).get(SCALE).range
        low, high = (-float("inf") if low is None else low), (float("inf") if high is None else high)
        if any(not low <= s <= high for s in args.scales):
            raise SDModelError(f"--scales: {SCALE} must lie in [{low:g}, {high:g}] (the model's range; got "
                               f"{args.scales})")
        tables: dict[float, pd.DataFrame] = {}
        with atomic_dir(args.out, "savings_path", args.force) as tmp:
            (tmp / "models").mkdir()
            for scale in args.scales:
                copy = tmp / "models" / f"{model.stem}_savings_x{scale:g}.mdl"
                atomic_write_text(copy, set_constants(text, {SCALE: {"": repr(float(scale))}}, model)[0])
                tables[scale] = findings_to_folder(tmp / "findings" / f"{scale:g}", model=copy).table
                print(f"scale {scale:g}: {copy.name} run", file=sys.stderr)
            gdp2015 = {k: _pick(t, "historical run", "GDP against the data", "historical", "", "2015", "value")
                       for k, t in tables.items()}
            first = next(iter(gdp2015.values()))
            if any(abs(v / first - 1) > 1e-9 for v in gdp2015.values()):
                raise SDModelError(f"the variants differ before 2016 (2015 national GDP {gdp2015}); only the years "
                                   "after 2015 should change")
            table = summary(tables)
            atomic_write_text(tmp / "summary.csv", table.to_csv())
            md = (f"# The national savings rate after 2015, its change scaled by `{SCALE}`\n\nModel `{model.name}` "
                  f"(sha256 {sha256_file(model)[:12]}).\n\n" + to_markdown(table))
            atomic_write_text(tmp / "summary.md", md)
            atomic_write_json(tmp / "manifest.json", {
                "model": str(model), "model_sha256": sha256_file(model), "versions": package_versions(),
                "constant": SCALE, "scales": args.scales})
    except (SDModelError, OSError) as err:
        sys.exit(f"savings_path_variants: {err}")
    print(md)


if __name__ == "__main__":
    main()
