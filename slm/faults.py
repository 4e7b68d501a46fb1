"""Named steps of slm's multi-step operations, where a test can kill the process as a crash would.

With `SLM_FAULT_AT=NAME` (or `NAME:N`, the N-th time the step is reached) the process SIGKILLs itself at that
step; `tests/faults.py` runs an operation once per step and checks what the crash left. Unset, as it always is
outside tests, a step costs one comparison.
"""

from __future__ import annotations

import os
import signal

_name, _, _nth = (os.environ.get("SLM_FAULT_AT") or "").partition(":")
_remaining = [int(_nth) if _nth.isdigit() else 1]


def step(name: str) -> None:
    """Mark that the operation has reached `name` (everything before it is done, nothing after it is)."""
    if name != _name:
        return
    _remaining[0] -= 1
    if _remaining[0] == 0:
        os.kill(os.getpid(), signal.SIGKILL)
