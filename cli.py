"""The ``sd-model`` command line: a thin layer over the ``sd_model`` package.

Each command lives in ``sd_model/commands/<name>.py``; this file only assembles them.
"""
from __future__ import annotations

import click

from sd_model.commands.backtest import backtest_command
from sd_model.commands.calibrate import calibrate_command
from sd_model.commands.check import check_command
from sd_model.commands.compare import compare_command
from sd_model.commands.ensemble import ensemble_command
from sd_model.commands.explore import explore_command
from sd_model.commands.findings import findings_command
from sd_model.commands.info import info_command
from sd_model.commands.options import SDGroup
from sd_model.commands.rerun import rerun_command
from sd_model.commands.run import run_command
from sd_model.commands.sbc import sbc_command
from sd_model.commands.sensitivity import sensitivity_command
from sd_model.commands.structure import diagram_command, export_command, loops_command, sketch_command

COMMANDS = [run_command, rerun_command, info_command, check_command, compare_command, sensitivity_command,
            calibrate_command, backtest_command, findings_command, sbc_command, ensemble_command, sketch_command,
            diagram_command, loops_command, export_command, explore_command]


@click.group(cls=SDGroup, commands=COMMANDS, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="sd-model")
def main() -> None:
    """sd-model: finance and growth across China's four macro-regions.

    East, Central, West and Northeast: a Vensim system-dynamics model run with Simlin (fast)
    or PySD (reference).

    Start with `sd-model info` (parameters and levers) and `sd-model run --help`.
    """


if __name__ == "__main__":  # pragma: no cover
    main()
