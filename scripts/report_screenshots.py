"""Screenshots of a comparison report for docs/: its top (findings) and its key-indicator tables.

Opens ``report.html`` (written by ``sd-model compare``) in the system's headless Chromium, as
:mod:`sd_model.explore.headless` launches it, and writes two 1250 x 1400 pixel views:
``report.png`` (the top of the page) and ``report-tables.png`` (from the "Key indicators" section).

Usage::

    sd-model compare historical unbalanced balanced --samples 1000 --seed 1 --out results/compare
    .venv/bin/python scripts/report_screenshots.py results/compare/report.html [--out docs]
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sd_model.explore import headless  # noqa: E402

#: The report's heading of the single-run indicator tables.
TABLES_HEADING = "Key indicators"


def main() -> int:
    """Parse the arguments, take the two screenshots; return the exit status (2 on bad input)."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("report", type=Path, help="report.html written by sd-model compare")
    ap.add_argument("--out", type=Path, default=ROOT / "docs", help="folder for the two PNG files (default docs/)")
    args = ap.parse_args()
    if not args.report.is_file():
        print(f"error: {args.report}: no such file (run sd-model compare first)", file=sys.stderr)
        return 2
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw, tempfile.TemporaryDirectory() as profile:
        context = headless.launch(pw, profile, width=1250, height=1400)
        page = context.new_page()
        page.goto(args.report.resolve().as_uri())
        page.screenshot(path=str(args.out / "report.png"))
        heading = page.get_by_role("heading", name=TABLES_HEADING, exact=True)
        if heading.count() != 1:
            print(f"error: {args.report}: no heading '{TABLES_HEADING}' in the report", file=sys.stderr)
            context.close()
            return 2
        heading.evaluate("h => h.scrollIntoView(true)")  # the heading at the top of the view
        page.screenshot(path=str(args.out / "report-tables.png"))
        context.close()
    print(f"wrote {args.out / 'report.png'} and {args.out / 'report-tables.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
