"""The benchmarks still run: ``bench/run.py --smoke`` measures every row on small sizes.

It checks that each row produced a figure (the harness, the servers, the wrk scripts and the
seeding all work), never whether a target was met: timing belongs to the benchmark's own
report, not to the test suite.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ROWS = ("U1", "U2", "U3", "U4", "U5", "U6", "D1", "D2", "W1", "W2", "A1", "L1 SQLite", "L2 SQLite")


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_every_benchmark_row_produces_a_figure(tmp_path: Path) -> None:
    nginx = shutil.which("nginx") or Path("/usr/sbin/nginx").exists()
    missing = [tool for tool in ("curl", "wrk") if shutil.which(tool) is None]
    if missing or not nginx:
        pytest.skip("benchmark tools not installed (Debian: curl wrk nginx-light)")
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "run.py"), "--smoke", "--dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=540,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    figures: dict[str, list[str]] = {}
    for line in done.stdout.splitlines():
        cells = [cell.strip() for cell in line.split("|")]
        if len(cells) > 4 and cells[1] in ROWS:
            figures.setdefault(cells[1], []).append(cells[3])
    assert set(figures) == set(ROWS), done.stdout
    for row, found in figures.items():
        assert all(figure and not figure.startswith("skipped") for figure in found), (row, found)
