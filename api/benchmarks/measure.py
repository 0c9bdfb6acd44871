"""What the operating system says about a process: peak memory, CPU time (from /proc on Linux), usable cores."""

from __future__ import annotations

import os
import resource
from pathlib import Path


def peak_rss_mb() -> float:
    """This process's peak resident memory. Linux's VmHWM, which starts afresh in a spawned process (getrusage's
    maxrss carries the parent's peak across exec); getrusage elsewhere."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def cpu_seconds(pid: int) -> float | None:
    """A process's CPU time so far (user + system, all threads), where /proc tells it."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime (fields 14, 15)


def tree_cpu_seconds(pid: int) -> float | None:
    """`cpu_seconds` of a process and of its descendants that are still running (e.g. uvicorn's workers)."""
    own = cpu_seconds(pid)
    if own is None:
        return None
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
        children = [int(c) for task in tasks for c in (task / "children").read_text().split()]
    except OSError:
        return own
    return own + sum(tree_cpu_seconds(child) or 0.0 for child in children)


def usable_cores() -> int:
    """The cores this process may run on (its affinity where the system tells it)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
