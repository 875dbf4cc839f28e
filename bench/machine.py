"""What a benchmark ran on and how busy the shared machine was: written beside every result."""

from __future__ import annotations

import datetime
import os
import platform
from collections.abc import Iterable
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from worker.models.cpu import usable_cpus


def load_average() -> list[float]:
    """The 1/5/15-minute load averages: how busy the shared machine was."""
    return [round(value, 2) for value in os.getloadavg()]


def package_versions(names: Iterable[str]) -> dict[str, str]:
    """Installed versions of the named packages (those present)."""
    found = {}
    for name in names:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            continue
    return found


def machine_info() -> dict[str, Any]:
    """What the numbers were measured on, and how busy it was at the start."""
    cpuinfo = Path("/proc/cpuinfo")
    names = [
        line.split(":", 1)[1].strip()
        for line in (cpuinfo.read_text().splitlines() if cpuinfo.exists() else [])
        if line.startswith("model name")
    ]
    packages = ("onnxruntime", "openvino", "numpy", "pillow", "opencv-python-headless")
    return {
        "date": datetime.date.today().isoformat(),
        "cpu_model": names[0] if names else platform.processor(),
        "cpu_count": os.cpu_count(),
        "usable_cpus": usable_cpus(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "packages": package_versions(packages),
        "load_average_at_start": load_average(),
    }
