"""Print how much each region would have to over-report GFCF for the data to show the model's investment share.

The investment-share target scales every region's GFCF by national GFCF / sum of provinces, the same
proportion for every region, because which provinces over-report is not known
(``sd_model.calibration.targets``). This prints, for the historical run to 2015, the model's share, the
adjusted data's, the published (unscaled) data's, and k: the over-reporting rate relative to the
national rate at which the data equal the model (1 = the target as fitted;
:func:`sd_model.calibration.targets.implied_overreporting`). docs/calibration.md, "How GFCF
over-reporting is handled", quotes it.

python scripts/overreporting_implied.py                 # the shipped model, historical scenario
python scripts/overreporting_implied.py --model vensim/other.mdl --first 2005
"""
from __future__ import annotations

import argparse

import pandas as pd

from sd_model.calibration.targets import add_derived, implied_overreporting
from sd_model.data import load_observations
from sd_model.run import load_engine, run_scenario
from sd_model.scenario import load_scenario, resolve_scenario


def main() -> None:
    """Run the scenario to 2015 and print the table, one block per region."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=None, help="Vensim model (default: the shipped model)")
    ap.add_argument("--scenario", default="historical")
    ap.add_argument("--first", type=int, default=2000, help="first year printed (default 2000)")
    args = ap.parse_args()
    engine = load_engine("simlin", args.model)
    ds = run_scenario(load_scenario(resolve_scenario(args.scenario)), engine, until=2015)
    obs = add_derived(load_observations())
    model = (ds["Investment"] / ds["GDP"]).rename(time="year", Region="region")
    model = model.assign_coords(year=model["year"].astype(int))
    years = list(range(args.first, 2016))
    k = implied_overreporting(model.sel(year=years), obs)
    adjusted = (obs["gfcf_adjusted_real"] / obs["gdp_real_2000"]).sel(year=years)
    factor = obs["gfcf_scaling_factor"].sel(year=years)
    print(f"Investment / GDP at 2000 prices, {args.scenario} run of model {engine.info.sha256[:12]} against the data; "
          "k = over-reporting relative to the national rate at which the data equal the model")
    print("national over-reporting rate (1 - national GFCF / sum of provinces): "
          + ", ".join(f"{y} {1 - float(factor.sel(year=y)):.3f}" for y in years))
    pd.set_option("display.width", 160)
    for region in [str(r) for r in model["region"].values]:
        table = pd.DataFrame({"model": model.sel(region=region, year=years).values,
                              "adjusted data": adjusted.sel(region=region).values,
                              "published data": (adjusted.sel(region=region) / factor).values,
                              "k": k.sel(region=region).values}, index=pd.Index(years, name="year"))
        print(f"\n{region}:\n{table.round(3).T.to_string()}")
    total = k.sel(region="China")
    print("\nfour regions summed, k: " + ", ".join(f"{y} {float(total.sel(year=y)):.2f}" for y in years))


if __name__ == "__main__":
    main()
