"""slm: a local-first memory for AI agents and the people who use them.

`from slm import Memory` is the public API; it is imported lazily so that `slm --help` starts fast.
"""

from __future__ import annotations

import os

# One OpenBLAS thread unless the user chose otherwise: its idle worker spins for ~0.1 s after every product, and on a
# busy laptop that stalls llama.cpp, the keyword thread and every other slm process (docs/benchmarks.md, "OpenBLAS").
# It must be set before numpy loads OpenBLAS, so here; a program that imported numpy first keeps its own setting.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

__version__ = "0.1.0"
__all__ = ["Hit", "Memory", "MemoryRecord", "__version__"]


def __getattr__(name: str):
    if name == "Memory":
        from slm.core.memory import Memory

        return Memory
    if name == "Hit":
        from slm.recall.hits import Hit

        return Hit
    if name == "MemoryRecord":
        from slm.storage.memories import MemoryRow

        return MemoryRow
    raise AttributeError(f"module 'slm' has no attribute {name!r}")
