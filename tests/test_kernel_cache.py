"""Issue 19: no kernel compilation at service start. The image compiles pairing's matching
kernels once (`telemachus kernels`); a container's entry point seeds the writable cache
directory from them, and the service then loads every kernel and compiles none. Done here
with the image's settings (x86-64-v2, a cache outside the source tree), and with the pod
running the same code from another directory: the cache is keyed by the kernels' content,
so a moved layer or another clone of the same code loads them too."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

BIN = Path(sys.executable).parent
PAIRING_SRC = Path(__file__).resolve().parents[1] / "services" / "pairing" / "src"


def run(*command: str, env: dict[str, str]) -> str:
    done = subprocess.run(
        command, env=env, capture_output=True, text=True, timeout=600, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def test_kernels_compiled_at_build_are_loaded_not_compiled_at_start(tmp_path: Path) -> None:
    image = {**os.environ, "NUMBA_CPU_NAME": "x86-64-v2", "PATH": f"{BIN}:{os.environ['PATH']}"}
    built = run(
        str(BIN / "telemachus"), "kernels", env={**image, "NUMBA_CACHE_DIR": str(tmp_path / "seed")}
    )
    assert " 0 compiled" not in built  # a fresh cache: compiled here, as at image build

    moved = tmp_path / "elsewhere"
    shutil.copytree(PAIRING_SRC, moved, ignore=shutil.ignore_patterns("__pycache__"))
    pod = {
        **image,
        "PYTHONPATH": str(moved),  # this copy of pairing, not the one the seed was built from
        "NUMBA_CACHE_DIR": str(tmp_path / "pod-cache"),  # an empty emptyDir
        "TELEMACHUS_KERNEL_CACHE_SEED": str(tmp_path / "seed"),
    }
    # The entry point seeds the cache, then runs `telemachus service <args>`.
    helped = run(sys.executable, "-m", "telemachus.cli.container", "--help", env=pod)
    assert "usage: telemachus service" in helped
    assert any((tmp_path / "pod-cache").rglob("*.nbi"))

    which = "import telemachus.pairing.matching.candidates as c; print(c.__file__)"
    assert run(sys.executable, "-c", which, env=pod).startswith(str(moved))
    started = run(str(BIN / "telemachus"), "kernels", env=pod)
    assert "kernels: 0 compiled" in started, started


def test_the_pairing_service_loads_without_numba() -> None:
    """numba's import (1.3 s) would hold a pairing pod's readiness back: the service loads
    without it, and its warm-up (or first round) imports it in a worker thread."""
    probe = "import sys, telemachus.pairing.bootstrap; print('numba' in sys.modules)"
    shown = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.strip() == "False"
