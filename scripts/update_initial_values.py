"""Write the 1978 initial values computed from data/raw into the Vensim model.

Rewrites only the numbers of the constants ``Initial Capital``, ``Initial Population`` and
``Initial GDP`` in vensim/regional_finance_economy.mdl (one value per region, East, Central,
West, Northeast), from :func:`sd_model.data.initial_values`, and of ``Coastal Exposure``, the
share of each region's 1978 nominal GDP produced in provinces with a sea coast
(:data:`COASTAL_PROVINCES`). Run it after the data change:

    python scripts/update_initial_values.py [--check]

With ``--check`` it changes nothing and exits 1 if the model's values differ from the data.
"""
from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sd_model.data import REGIONS, initial_values, load_provincial, load_regions  # noqa: E402
from sd_model.files import atomic_write_text  # noqa: E402

MODEL = ROOT / "vensim" / "regional_finance_economy.mdl"
CONSTANTS = {"Initial Capital": ("capital", 1), "Initial Population": ("population", 2),
             "Initial GDP": ("gdp", 1)}
#: Provinces with a sea coast (Bohai, Yellow, East China and South China seas).
COASTAL_PROVINCES = {"Liaoning", "Hebei", "Tianjin", "Shandong", "Jiangsu", "Shanghai", "Zhejiang", "Fujian",
                     "Guangdong", "Guangxi", "Hainan"}


def coastal_exposure(year: int = 1978) -> dict[str, float]:
    """Share of each region's nominal GDP of ``year`` produced in coastal provinces."""
    gdp = load_provincial("gdp_nominal")
    gdp = gdp[gdp["year"] == year].copy()
    regions = load_regions()
    gdp["region"] = gdp["province"].map(regions)
    total = gdp.groupby("region")["value"].sum()
    coast = gdp[gdp["province"].isin(COASTAL_PROVINCES)].groupby("region")["value"].sum()
    return {r: float(coast.get(r, 0.0) / total[r]) for r in REGIONS}


def expected_lines() -> dict[str, str]:
    """The equation line of each data-derived constant, as the data give it."""
    init = initial_values(1978)
    lines = {name: f"{name}[Region] = " + ", ".join(f"{init[r][key]:.{digits}f}" for r in REGIONS)
             for name, (key, digits) in CONSTANTS.items()}
    coast = coastal_exposure(1978)
    lines["Coastal Exposure"] = "Coastal Exposure[Region] = " + ", ".join(f"{coast[r]:.3g}" for r in REGIONS)
    return lines


def main(argv: list[str]) -> int:
    """Rewrite the model's initial values from the data; return the exit status."""
    text = MODEL.read_text(encoding="utf-8")
    new = text
    for name, line in expected_lines().items():
        pattern = re.compile(rf"^{re.escape(name)}\[Region\] = [^\n]*$", re.M)
        if not pattern.search(new):
            print(f"{MODEL}: no line '{name}[Region] = ...' found", file=sys.stderr)
            return 2
        new = pattern.sub(line, new, count=1)
    if "--check" in argv:
        if new != text:
            print("model initial values differ from the data; run scripts/update_initial_values.py")
            return 1
        print("model initial values match the data")
        return 0
    if new != text:
        atomic_write_text(MODEL, new)
        print(f"updated {MODEL}")
    else:
        print("already up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
