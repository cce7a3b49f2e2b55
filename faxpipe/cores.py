"""How many cores this process may run on."""

from __future__ import annotations

import os


def usable_cores() -> int:
    """The CPUs this process may be scheduled on (its affinity mask, as ``taskset`` or a
    container sets it), else the machine's count; at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return os.cpu_count() or 1
