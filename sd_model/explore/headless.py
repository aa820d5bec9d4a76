"""Drive the explorer from a real headless Chromium: used by the browser test and the screenshot script.

Chromium is the system's (Debian packages ``chromium``, ``chromium-driver``); Playwright's Python
package talks to it and never downloads a browser of its own. Each launch uses a new empty
profile and the switches below, which keep Chromium from reaching any network.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
#: Where Debian's ``chromium`` package puts the browser.
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync")


def chromium_path() -> Path | None:
    """The system Chromium, or None if it is not installed."""
    if CHROMIUM.is_file():
        return CHROMIUM
    found = shutil.which("chromium")
    return Path(found) if found else None


def start_explorer(args: Sequence[str] = (), timeout: float = 120.0) -> tuple[subprocess.Popen, str]:
    """Start ``sd-model explore ARGS`` in a child process; return it and the address it printed.

    Raises
    ------
    RuntimeError
        If it exits or prints no address within ``timeout`` seconds (with its output).
    """
    proc = subprocess.Popen([sys.executable, str(ROOT / "cli.py"), "explore", *args], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    deadline = time.monotonic() + timeout
    lines: list[str] = []
    assert proc.stdout is not None
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            if proc.poll() is not None:
                break
            continue
        lines.append(line)
        match = re.search(r"(http://127\.0\.0\.1:\d+/)", line)
        if match:
            return proc, match.group(1)
    stop(proc)
    raise RuntimeError("sd-model explore printed no address:\n" + "".join(lines))


def stop(proc: subprocess.Popen) -> None:
    """Stop the explorer started by :func:`start_explorer` (this process's own child only)."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    if proc.stdout is not None:
        proc.stdout.close()


def launch(playwright, user_data_dir: str | Path, width: int = 1500, height: int = 1000):
    """A headless Chromium context with a new empty profile in ``user_data_dir``."""
    path = chromium_path()
    if path is None:
        raise RuntimeError("no Chromium found; install it with: apt-get install -y chromium chromium-driver")
    return playwright.chromium.launch_persistent_context(
        str(user_data_dir), executable_path=str(path), args=list(CHROMIUM_ARGS), headless=True,
        viewport={"width": width, "height": height}, accept_downloads=True)


def control_id(kind: str, key: str) -> str:
    """CSS selector of a control's element (kind ``ctl``: number field, ``slide``, ``err``)."""
    return "[id='" + json.dumps({"key": key, "type": kind}, separators=(",", ":")) + "']"


def chart_traces(page, chart: str, role: str = "scenario") -> dict[str, dict]:
    """Traces of ``role`` in the chart ``chart`` as the browser holds them: {region: {"x": [...], "y": [...]}}."""
    return page.evaluate(
        """([chart, role]) => {
            const el = document.querySelector('#chart-' + chart + ' .js-plotly-plot');
            const out = {};
            for (const t of (el && el.data) || []) {
                if (t.meta && t.meta.role === role) out[t.meta.region || ''] = {x: Array.from(t.x), y: Array.from(t.y)};
            }
            return out;
        }""", [chart, role])


def wait_ready(page, timeout_ms: int = 60000) -> None:
    """Wait until every chart has drawn its scenario traces."""
    page.wait_for_function(
        """() => { const g = document.querySelectorAll('.charts .js-plotly-plot');
                   return g.length > 0 && Array.from(g).every(e => e.data && e.data.length > 0); }""",
        timeout=timeout_ms)
