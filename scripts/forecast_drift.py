"""Which constants carry the difference between two fits' growth forecasts, one constant at a time.

Two scenario files (for example the ``calibrated.toml`` of two legs of ``sd-model calibrate --until 2010``)
give two national growth rates over ``--start``-``--end`` (compound, % a year, ``National GDP``). For
each constant whose value differs between them (array constants element by element), the script runs
A with that one constant at B's value, and B with it at A's value, and prints both changes of the
growth rate: "A + B's" = growth(A with B's value) - growth(A), "B - A's" = growth(B) -
growth(B with A's value). With a single differing constant both equal growth(B) - growth(A); with
many, their spread shows how much the constants interact. docs/calibration.md, "Out of sample".

python scripts/forecast_drift.py first/calibrated.toml converged/calibrated.toml
python scripts/forecast_drift.py A.toml B.toml --start 2010 --end 2015 --top 20 --model vensim/other.mdl
"""
from __future__ import annotations

import argparse
from collections.abc import Mapping, Sequence
from typing import Any

from sd_model.engines import Engine
from sd_model.parameters import Parameter
from sd_model.run import load_engine, run
from sd_model.scenario import Scenario, load_scenario


def flat_params(params: Mapping[str, Any]) -> dict[str, float]:
    """``{"Name": x, "Name[Element]": y}`` from a scenario's parameters (arrays as ``{element: value}``)."""
    out: dict[str, float] = {}
    for name, value in params.items():
        if isinstance(value, Mapping):
            out.update({f"{name}[{element}]": float(v) for element, v in value.items()})
        else:
            out[name] = float(value)
    return out


def growth(scenario: Scenario, engine: Engine, start: int, end: int) -> float:
    """Compound growth of ``National GDP`` from ``start`` to ``end``, % a year."""
    gdp = run(scenario.resolve(engine.info, ["National GDP"], until=end), engine)["National GDP"]
    return ((float(gdp.sel(time=end)) / float(gdp.sel(time=start))) ** (1.0 / (end - start)) - 1.0) * 100.0


def drift(a: Scenario, b: Scenario, engine: Engine, start: int, end: int) -> tuple[float, float, list[tuple]]:
    """Growth of A and of B, and one row per constant whose value differs between them.

    Returns (growth of A, growth of B, rows), growth in % a year; each row is (name, A's value,
    B's value, A + B's, B - A's), largest |A + B's| + |B - A's| first. A constant one scenario
    sets and the other does not is compared with the model's value on the other side.
    """
    defaults = {name: var.default for name, var in engine.info.variables.items() if var.default is not None}
    only_b, only_a = set(b.params) - set(a.params), set(a.params) - set(b.params)
    pa = {**flat_params({n: defaults[n] for n in only_b if n in defaults}), **flat_params(a.params)}
    pb = {**flat_params({n: defaults[n] for n in only_a if n in defaults}), **flat_params(b.params)}
    ga, gb = growth(a, engine, start, end), growth(b, engine, start, end)
    rows = []
    for name in sorted(set(pa) & set(pb)):
        if pa[name] != pb[name]:
            one = Parameter.parse(engine.info, name)
            with_b = growth(a.with_params(one.as_params(engine.info, pb[name])), engine, start, end) - ga
            without_a = gb - growth(b.with_params(one.as_params(engine.info, pa[name])), engine, start, end)
            rows.append((name, pa[name], pb[name], with_b, without_a))
    rows.sort(key=lambda r: -(abs(r[3]) + abs(r[4])))
    return ga, gb, rows


def main(argv: Sequence[str] | None = None) -> None:
    """Parse the arguments, run the attribution and print the table."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("a", help="scenario file A (e.g. the first leg's calibrated.toml)")
    ap.add_argument("b", help="scenario file B (e.g. the converged leg's calibrated.toml)")
    ap.add_argument("--start", type=int, default=2010, help="first year of the growth rate (default 2010)")
    ap.add_argument("--end", type=int, default=2015, help="last year of the growth rate (default 2015)")
    ap.add_argument("--top", type=int, default=15, help="rows to print (default 15)")
    ap.add_argument("--model", default=None, help="Vensim model (default: the shipped model)")
    args = ap.parse_args(argv)
    if args.end <= args.start:
        ap.error(f"--end ({args.end}) must be after --start ({args.start})")
    engine = load_engine("simlin", args.model)
    ga, gb, rows = drift(load_scenario(args.a), load_scenario(args.b), engine, args.start, args.end)
    print(f"national growth {args.start}-{args.end}, % a year: A {ga:.3f}, B {gb:.3f}, B - A {gb - ga:+.3f}; "
          f"{len(rows)} constants differ")
    print("| constant | A | B | A + B's | B - A's |\n|---|---:|---:|---:|---:|")
    for name, va, vb, d1, d2 in rows[:args.top]:
        print(f"| {name} | {va:.4g} | {vb:.4g} | {d1:+.3f} | {d2:+.3f} |")


if __name__ == "__main__":
    main()
