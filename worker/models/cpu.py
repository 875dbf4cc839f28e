"""How many CPUs this process may really use: affinity and the cgroup CPU quota, not os.cpu_count().

A container limited to 1 CPU on a 64-core host reports 64 from os.cpu_count(); running 64
inference threads there thrashes. No library reads the cgroup quota for us (psutil does not),
hence the few lines here.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")


def _quota_v2(root: Path) -> float | None:
    try:
        quota, period = (root / "cpu.max").read_text().split()
    except (OSError, ValueError):
        return None
    return None if quota == "max" else int(quota) / int(period)


def _quota_v1(root: Path) -> float | None:
    try:
        quota = int((root / "cpu" / "cpu.cfs_quota_us").read_text())
        period = int((root / "cpu" / "cpu.cfs_period_us").read_text())
    except (OSError, ValueError):
        return None
    return None if quota <= 0 else quota / period


def cgroup_cpu_quota(root: Path = CGROUP_ROOT) -> float | None:
    """The CPU quota in CPUs (e.g. 1.5), or None when the cgroup sets none."""
    quota = _quota_v2(root)
    return quota if quota is not None else _quota_v1(root)


def usable_cpus(root: Path = CGROUP_ROOT) -> int:
    """CPUs this process may use: its affinity set, capped by the cgroup quota (at least 1)."""
    count = len(os.sched_getaffinity(0))
    quota = cgroup_cpu_quota(root)
    if quota is not None:
        count = min(count, math.ceil(quota))
    return max(1, count)


def thread_count(configured: int) -> int:
    """Threads for one job's parallel work: the configured number, or 0 for usable_cpus()."""
    return configured or usable_cpus()
