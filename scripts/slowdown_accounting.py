"""Print the growth accounting of the 2011-2015 slowdown: data against the historical run.

Also the gain from labour leaving farming and US TFP growth (docs/calibration.md, "The slowdown in
the data").

python scripts/slowdown_accounting.py            # the shipped model, historical scenario
python scripts/slowdown_accounting.py --model vensim/other.mdl
python scripts/slowdown_accounting.py --long     # also the national rows of 1980-2015 in five-year periods
"""
from __future__ import annotations

import argparse

import pandas as pd

from sd_model.calibration.targets import add_derived
from sd_model.data import load_observations
from sd_model.data_employment import load_national_employment, us_tfp_growth
from sd_model.growth_accounting import (LONG_PERIODS, PERIODS, decompose_data, decompose_model,
                                        national_primary_va_share, reallocation_gain)
from sd_model.run import load_engine, run_scenario
from sd_model.scenario import load_scenario, resolve_scenario

COLUMNS = ["start", "end", "region", "output", "capital", "labour", "capital_part", "labour_part", "residual"]


def main() -> None:
    """Run the scenario to 2015 and print the tables."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=None, help="Vensim model (default: the shipped model)")
    ap.add_argument("--scenario", default="historical")
    ap.add_argument("--long", action="store_true", help="also the national rows of 1980-2015 in five-year periods")
    args = ap.parse_args()
    engine = load_engine("simlin", args.model)
    ds = run_scenario(load_scenario(resolve_scenario(args.scenario)), engine, until=2015)
    alpha = float(ds["Capital Elasticity"].values.ravel()[0])
    pd.set_option("display.width", 160)
    print(f"alpha = Capital Elasticity = {alpha:.3f}; log growth, % a year; labour = population")
    obs = add_derived(load_observations())
    print("\nData (gdp_real_2000, capital_adjusted, population):")
    print(decompose_data(obs, alpha)[COLUMNS].round(2).to_string(index=False))
    print(f"\nModel ({args.scenario}, GDP, Capital, Population; model {engine.info.sha256[:12]}):")
    print(decompose_model(ds, alpha)[COLUMNS].round(2).to_string(index=False))
    if args.long:
        print("\nNational, five-year periods 1980-2015 (before 2000 the data's real GDP uses the proxy deflator):")
        for name, table in (("data", decompose_data(obs, alpha, LONG_PERIODS)),
                            ("model", decompose_model(ds, alpha, LONG_PERIODS))):
            rows = table[table["region"] == "China"][COLUMNS].drop(columns="region")
            print(f"{name}:\n{rows.round(2).to_string(index=False)}")
    emp = load_national_employment()
    gain = reallocation_gain(national_primary_va_share(obs), emp["primary_share"])
    print("\nLabour leaving farming: gain in % of output a year (national), mean over each period")
    for start, end in PERIODS:
        print(f"  {start + 1}-{end}: {gain.loc[start + 1:end, 'gain'].mean():.2f}")
    us = us_tfp_growth()
    print("\nUS TFP growth (PWT 10.01 rtfpna), % a year, mean over each period:")
    for start, end in ((1978, 2004), *PERIODS):
        print(f"  {start + 1}-{end}: {100 * us.loc[start + 1:end].mean():.2f}")


if __name__ == "__main__":
    main()
