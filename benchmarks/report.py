"""What every benchmark records beside its figures: the machine, the slm code that ran, latency percentiles.

Imported as `report` by the benchmarks run as scripts (latency.py) and as `benchmarks.report` by the modules run
with `-m`, so it imports nothing of the benchmarks.
"""

from __future__ import annotations

import hashlib
import os
import platform
import subprocess
from importlib import metadata
from pathlib import Path

import numpy as np


def percentiles(samples_ms: list[float]) -> dict[str, float]:
    arr = np.asarray(samples_ms)
    return {
        "p50_ms": round(float(np.percentile(arr, 50)), 2),
        "p95_ms": round(float(np.percentile(arr, 95)), 2),
        "p99_ms": round(float(np.percentile(arr, 99)), 2),
        "mean_ms": round(float(arr.mean()), 2),
        "n": len(samples_ms),
    }


def machine() -> dict:
    import apsw
    import llama_cpp  # noqa: F401 - only its installed version is wanted

    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "os": platform.platform(),
        "python": platform.python_version(),
        "sqlite": apsw.sqlite_lib_version(),
        **{name: metadata.version(name) for name in ("llama-cpp-python", "sqlite-vec", "apsw", "numpy")},
        "thread_env": {k: v for k, v in os.environ.items() if k.endswith("_NUM_THREADS") or k.startswith("OPENBLAS")},
    }


def slm_version() -> dict:
    """Which slm code a phase ran: its folder, git commit and uncommitted changes (slm is edited while we measure)."""
    import slm

    folder = Path(slm.__file__).parent

    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=folder, capture_output=True, text=True)
        return done.stdout.strip() if done.returncode == 0 else ""

    diff = git("diff", "HEAD", "--", ".")
    return {
        "path": str(folder),
        "commit": git("rev-parse", "--short", "HEAD"),
        "dirty_files": git("status", "--porcelain", "--", ".").splitlines(),
        "diff_sha1": hashlib.sha1(diff.encode()).hexdigest()[:12] if diff else "",
    }
