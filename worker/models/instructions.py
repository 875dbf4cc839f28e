"""What the CPU's instruction set makes worth running: whether int8 inference pays here.

u2netp-int8 (the `fast` preset's model) runs in 0.38-0.55x of fp32's time on a Xeon with AMX
(bench/results/engines.json) but 1.02-1.06x on an AVX2-only EPYC (engines_avx2.json), where
it only costs mask quality. The difference is an int8 dot-product instruction (VNNI, AMX),
which /proc/cpuinfo lists; no installed library reports it (onnxruntime and OpenVINO choose
their kernels internally), hence the few lines here.
"""

from __future__ import annotations

import functools
import platform
from pathlib import Path

CPUINFO = Path("/proc/cpuinfo")
X86_MACHINES = frozenset({"x86_64", "amd64"})
INT8_DOT_PRODUCT_FLAGS = frozenset({"avx512_vnni", "avx_vnni", "amx_int8"})


def is_x86() -> bool:
    """Whether this is an x86-64 CPU, the only kind the engines were measured on."""
    return platform.machine().lower() in X86_MACHINES


def cpu_flags(cpuinfo: Path) -> frozenset[str] | None:
    """The first CPU's feature flags, or None when /proc/cpuinfo cannot tell."""
    try:
        text = cpuinfo.read_text()
    except OSError:
        return None
    for line in text.splitlines():
        name, _, value = line.partition(":")
        if name.strip() == "flags":
            return frozenset(value.split())
    return None


@functools.cache
def int8_pays() -> bool:
    """Whether int8 inference is worth its quality cost here: on x86, only with an int8
    dot-product instruction; elsewhere (not measured) and when unknown, int8 stands."""
    if not is_x86():
        return True
    flags = cpu_flags(CPUINFO)
    return flags is None or bool(flags & INT8_DOT_PRODUCT_FLAGS)
