"""Write the 1978 initial values computed from data/raw into the Vensim model.

Rewrites only the numbers of the constants ``Initial Capital``, ``Initial Population`` and
``Initial GDP`` in vensim/regional_finance_economy.mdl (one value per region, East, Central,
West, Northeast), from :func:`sd_model.data.initial_values`, and of ``Coastal Exposure``, the
share of each region's 1978 nominal GDP produced in provinces with a sea coast
(:data:`COASTAL_PROVINCES`), and of ``Market Distance``, the effective distance between the regions
(:func:`sd_model.data_geography.market_distance`, 3 significant digits). Run it after the data change:

    python scripts/update_initial_values.py [--check]

With ``--check`` it changes nothing and exits 1 if the model's values differ from the data.
"""
from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sd_model.data import REGIONS, initial_values, load_provincial, load_regions  # noqa: E402
from sd_model.data_geography import market_distance  # noqa: E402
from sd_model.errors import SDModelError  # noqa: E402
from sd_model.files import atomic_write_text  # noqa: E402
from sd_model.mdl import set_constants  # noqa: E402

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


def expected_values() -> dict[str, dict[str, str]]:
    """The numbers of each data-derived constant, by region, as the data give them (as written in the model)."""
    init = initial_values(1978)
    values = {name: {r: f"{init[r][key]:.{digits}f}" for r in REGIONS} for name, (key, digits) in CONSTANTS.items()}
    coast = coastal_exposure(1978)
    values["Coastal Exposure"] = {r: f"{coast[r]:.3g}" for r in REGIONS}
    distance = market_distance(1978)
    values["Market Distance"] = {f"{r},{d}": f"{distance[r][d]:.3g}" for r in REGIONS for d in REGIONS}
    return values


def main(argv: list[str]) -> int:
    """Rewrite the model's initial values from the data; return the exit status."""
    text = MODEL.read_text(encoding="utf-8")
    try:
        new, changes = set_constants(text, expected_values(), MODEL)
    except SDModelError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if "--check" in argv:
        if changes:
            print("model initial values differ from the data; run scripts/update_initial_values.py")
            print("\n".join(changes))
            return 1
        print("model initial values match the data")
        return 0
    if changes:
        atomic_write_text(MODEL, new)
        print("\n".join(changes))
        print(f"updated {MODEL}")
    else:
        print("already up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
