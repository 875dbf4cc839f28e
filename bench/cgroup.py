"""A cgroup v1 memory group for one benchmark run: its limit, peak, stat and OOM kills.

The memory cgroup charges each page once, however many processes map it, so its numbers are
the whole worker's (Celery parent and pool child together, copy-on-write pages counted once).
It also charges the page cache of files the group reads or writes first: `rss` in memory.stat
is the anonymous memory alone.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

MEMORY_ROOT = Path("/sys/fs/cgroup/memory")
UNIFIED_ROOT = Path("/sys/fs/cgroup")
MB = 1024 * 1024
# Writes the shell's own pid into the group, then execs the command: its children inherit.
_ENTER = 'echo $$ > "$0" && exec "$@"'


def unavailable_reason(root: Path = MEMORY_ROOT, unified: Path = UNIFIED_ROOT) -> str | None:
    """None when a v1 memory group can be made under `root`, else why not."""
    if (root / "memory.limit_in_bytes").is_file():
        if os.access(root, os.W_OK):
            return None
        return f"{root} exists but is not writable (run as root)"
    if (unified / "cgroup.controllers").is_file():
        return "only cgroup v2 is mounted; this bench reads the v1 memory controller"
    return "no memory cgroup controller is mounted"


def parse_flat_keyed(text: str) -> dict[str, int]:
    """`name value` lines (memory.stat, memory.oom_control) as a dict."""
    values = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].lstrip("-").isdigit():
            values[parts[0]] = int(parts[1])
    return values


@dataclass
class MemoryGroup:
    """One memory cgroup directory, made for one run and removed after it."""

    path: Path

    @classmethod
    def create(cls, name: str, limit_bytes: int, root: Path = MEMORY_ROOT) -> MemoryGroup:
        path = root / name
        path.mkdir()
        group = cls(path)
        group.write("memory.limit_in_bytes", limit_bytes)
        return group

    def wrapper(self) -> list[str]:
        """A command prefix that puts the command's process (and its children) in the group."""
        return ["sh", "-c", _ENTER, str(self.path / "cgroup.procs")]

    def read(self, name: str) -> str:
        return (self.path / name).read_text()

    def write(self, name: str, value: int) -> None:
        (self.path / name).write_text(str(value))

    def number(self, name: str) -> int:
        return int(self.read(name))

    def stat(self) -> dict[str, int]:
        return parse_flat_keyed(self.read("memory.stat"))

    def oom_kills(self) -> int:
        """Processes the kernel killed for this group's limit (Linux 4.13+ reports it)."""
        return parse_flat_keyed(self.read("memory.oom_control")).get("oom_kill", 0)

    def pids(self) -> list[int]:
        return [int(pid) for pid in self.read("cgroup.procs").split()]

    def remove(self, timeout: float = 10.0) -> None:
        """rmdir the group once its processes have gone (its charges move to the parent)."""
        deadline = time.monotonic() + timeout
        while self.pids():
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.path} still holds {self.pids()}")
            time.sleep(0.05)
        self.path.rmdir()


@dataclass
class Peaks:
    """The highest values seen while sampling (bytes)."""

    rss: int = 0
    usage: int = 0
    cache_at_usage_peak: int = 0
    samples: int = 0


@dataclass
class Sampler:
    """Reads memory.stat every `interval` s in a thread: the kernel keeps no peak of `rss`."""

    group: MemoryGroup
    interval: float = 0.005
    peaks: Peaks = field(default_factory=Peaks)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def __enter__(self) -> Sampler:
        self._thread = threading.Thread(target=self._run, daemon=True, name="cgroup-sampler")
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self.sample()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()

    def sample(self) -> None:
        stat, usage = self.group.stat(), self.group.number("memory.usage_in_bytes")
        self.peaks = update_peaks(self.peaks, stat, usage)


def update_peaks(peaks: Peaks, stat: dict[str, int], usage: int) -> Peaks:
    """`peaks` with one more sample of memory.stat and memory.usage_in_bytes taken in."""
    higher_usage = usage > peaks.usage
    return Peaks(
        rss=max(peaks.rss, stat.get("rss", 0)),
        usage=max(peaks.usage, usage),
        cache_at_usage_peak=stat.get("cache", 0) if higher_usage else peaks.cache_at_usage_peak,
        samples=peaks.samples + 1,
    )


def proc_status_kb(pid: int, proc: Path = Path("/proc")) -> dict[str, int]:
    """The kB fields of /proc/<pid>/status (VmHWM, VmRSS, RssAnon, RssFile...)."""
    values = {}
    for line in (proc / str(pid) / "status").read_text().splitlines():
        name, _, rest = line.partition(":")
        parts = rest.split()
        if len(parts) == 2 and parts[1] == "kB":
            values[name] = int(parts[0])
    return values
