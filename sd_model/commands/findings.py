"""``sd-model findings``: re-measure the README's single-run findings in one command."""
from __future__ import annotations

from pathlib import Path

import click

from ..findings import findings_to_folder
from .options import engine_option, shared


@click.command("findings", short_help="Re-measure the README's single-run findings: findings.csv and .md.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("results/findings"),
              show_default=True, help="Output folder (replaced as a whole when complete).")
@engine_option()
@shared("quiet", "force", "model")
def findings_command(out, engine, quiet, force, model):
    """Run the scenarios the README's findings cite and measure every figure they quote.

    The historical run (growth, growth accounting, TFP against the frontier, loans/GDP, the
    East/West ratio and Theil index, 2015 GDP against the data), unbalanced against historical
    in 2015 (also with east-first's spillovers, its investment priority and the programmes
    switched off in both runs), no_siphoning in 2015 and the historical net outflows of funds,
    and each forward lever against historical in 2050. Each scenario and variant runs once.

    Writes OUT/findings.csv (one row per figure), findings.md (tables by finding) and
    manifest.json (model hash, scenarios, parameters of each variant, engine, versions).

    \b
    Example:
      sd-model findings                                  # -> results/findings
      sd-model findings --model my.mdl --out results/findings-my
    """  # noqa: D301 (\b is Click's no-rewrap marker)
    result = findings_to_folder(out, model=model, engine=engine, force=force)
    if not quiet:
        click.echo(f"{len(result.table)} figures from {result.runs} runs in {result.seconds:.1f} s -> {out}")
