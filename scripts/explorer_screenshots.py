"""Screenshots of ``sd-model explore`` for docs/: the page after a lever moved, and a refused value.

Starts the explorer (with ``--bands`` if given), drives the system's headless Chromium as the
browser test does (:mod:`sd_model.explore.headless`), moves the Aid lever to intensity 1 (the
scenario's start year, 2025), and writes ``docs/explorer.png``; then types an out-of-range intensity
and writes ``docs/explorer-refused.png`` (the controls column only).

Usage::

    .venv/bin/python scripts/explorer_screenshots.py [--bands results/ens/ensemble.nc] [--out docs]
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sd_model.explore import headless  # noqa: E402


def _wait_status(page, text: str) -> None:
    for _ in range(600):
        if text in page.inner_text("#status"):
            return
        time.sleep(0.1)
    raise RuntimeError(f"status never said {text!r}")


def main() -> None:
    """Take the two screenshots (see the module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bands", default=None, help="ensemble.nc for the bands (optional)")
    parser.add_argument("--out", default=str(ROOT / "docs"), help="folder of the PNG files (default docs/)")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    proc, url = headless.start_explorer(["--bands", args.bands] if args.bands else [])
    try:
        with sync_playwright() as p, tempfile.TemporaryDirectory() as profile:
            ctx = headless.launch(p, profile, width=1600, height=1050)
            page = ctx.new_page()
            page.goto(url)
            headless.wait_ready(page)
            field = page.locator(headless.control_id("ctl", "Aid Intensity"))
            field.scroll_into_view_if_needed()
            field.fill("1")
            field.press("Enter")
            time.sleep(1.0)
            _wait_status(page, "redrawn")
            page.locator("details").first.evaluate("e => e.parentElement.scrollTop = 0")
            page.screenshot(path=str(Path(args.out) / "explorer.png"))
            print("wrote", Path(args.out) / "explorer.png", "-", page.inner_text("#status"))
            field.fill("5")
            field.press("Enter")
            _wait_status(page, "refused")
            page.locator(headless.control_id("err", "Aid Intensity")).scroll_into_view_if_needed()
            page.screenshot(path=str(Path(args.out) / "explorer-refused.png"),
                            clip={"x": 0, "y": 0, "width": 900, "height": 1050})
            print("wrote", Path(args.out) / "explorer-refused.png", "-", page.inner_text("#status"))
            ctx.close()
    finally:
        headless.stop(proc)


if __name__ == "__main__":
    main()
