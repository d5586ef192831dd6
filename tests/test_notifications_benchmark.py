"""The notifier's benchmark runs (at a smoke size: its figures are for `make bench`), so a
change that breaks it fails here rather than on the day someone measures."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCHMARK = Path(__file__).resolve().parents[1] / "benchmarks" / "notifications.py"


def test_the_notifications_benchmark_runs_and_prints_its_ratio() -> None:
    done = subprocess.run(
        [sys.executable, str(BENCHMARK), "--notices", "60", "--connections", "2"],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "ratio notifier / bare loop" in done.stdout
