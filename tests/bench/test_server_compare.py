"""bench/server_compare.py's measuring helpers, without servers."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

import pytest

from bench.server_compare import measure, print_table, tree_memory


def test_tree_memory_counts_a_process_and_its_children() -> None:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        memory = tree_memory([os.getpid()])
    finally:
        child.kill()
        child.wait()
    assert len(memory["processes"]) >= 2
    assert 0 < memory["pss_mb"] <= memory["vmhwm_sum_mb"]


def test_measure_times_sequential_and_concurrent_requests() -> None:
    sent: list[bytes] = []

    def send(image: bytes) -> float:
        sent.append(image)
        return float(len(sent))

    result = measure(send, [b"a", b"b"], requests=4)
    assert sent[:4] == [b"a", b"b", b"a", b"b"] and sorted(sent[4:]) == [b"a", b"a", b"b", b"b"]
    assert result["latency_ms"] == {"median": 2.5, "min": 1.0, "max": 4.0, "n": 4}
    assert result["throughput_per_s"] > 0


def test_table_gives_ratios_against_rembg(capsys: pytest.CaptureFixture[str]) -> None:
    def row(latency: float, throughput: float, pss: float) -> dict[str, Any]:
        return {
            "latency_ms": {"median": latency, "min": latency, "max": latency, "n": 1},
            "throughput_per_s": throughput,
            "memory": {"pss_mb": pss, "vmhwm_sum_mb": pss * 2},
        }

    print_table({"rembg s (u2netp)": row(400, 2.0, 600), "cutout": row(100, 8.0, 300)})
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert last == "| cutout | 100 (100-100) | 0.25x | 8.0 | 4.00x | 300 | 0.50x | 600 |"
