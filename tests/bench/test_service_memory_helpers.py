"""The pure helpers of bench/service.py and bench/memory.py: no processes, no timings."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bench.cgroup import (
    MemoryGroup,
    Peaks,
    parse_flat_keyed,
    proc_status_kb,
    unavailable_reason,
    update_peaks,
)
from bench.loopback import Submitted, model_loads
from bench.memory import budget_line, headline_mb, problems_of, verdict
from bench.service import client_overheads, percentile, pipeline_ms, record_overheads, summary
from shared.jobs import Job, Status

MB = 1024 * 1024
MEMORY_STAT = """cache 4718592
rss 228589568
rss_huge 0
shmem 0
mapped_file 1048576
hierarchical_memory_limit 536870912
total_rss 228589568
"""


def _finished(**changes: object) -> Job:
    job = Job(
        id="job1",
        status=Status.SUCCEEDED,
        created_at=1000.000,
        started_at=1000.010,
        finished_at=1000.530,
        timings_ms={"decode": 100.0, "inference": 300.0, "encode": 100.0},
        worker={"name": "worker1@host", "peak_rss_mb": 250.0},
        attempts=1,
    )
    for name, value in changes.items():
        setattr(job, name, value)
    return job


@pytest.mark.parametrize("q", [0, 10, 50, 90, 99, 100])
def test_percentile_matches_numpy_linear(q: float) -> None:
    values = [5.0, 1.0, 9.0, 3.0, 7.0, 2.0, 8.0]
    assert percentile(values, q) == pytest.approx(np.percentile(values, q))


def test_percentile_of_one_value_and_of_none() -> None:
    assert percentile([4.0], 90) == 4.0
    with pytest.raises(ValueError):
        percentile([], 50)


def test_summary_rounds_median_p90_min_max() -> None:
    assert summary([1.0, 2.0, 3.0, 4.0]) == {"median": 2.5, "p90": 3.7, "min": 1.0, "max": 4.0}


def test_pipeline_is_the_sum_of_stage_timings() -> None:
    assert pipeline_ms(_finished()) == 500.0
    assert pipeline_ms(_finished(timings_ms=None)) == 0.0


def test_record_overheads_split_queue_and_untimed_worker_time() -> None:
    figures = record_overheads(_finished())
    assert figures["queue_ms"] == pytest.approx(10.0, abs=1e-3)
    assert figures["worker_untimed_ms"] == pytest.approx(20.0, abs=1e-3)
    assert figures["record_overhead_ms"] == pytest.approx(30.0, abs=1e-3)


def test_record_overheads_need_a_finished_job() -> None:
    with pytest.raises(ValueError, match="not finished"):
        record_overheads(_finished(status=Status.QUEUED, started_at=None, finished_at=None))


def test_client_overheads_from_send_to_seen() -> None:
    sent = Submitted("job1", sent_at=999.990, post_ms=12.0)
    figures = client_overheads(sent, seen_at=1000.540, job=_finished())
    assert figures["latency_ms"] == pytest.approx(550.0, abs=1e-3)
    assert figures["client_overhead_ms"] == pytest.approx(50.0, abs=1e-3)
    assert figures["api_before_record_ms"] == pytest.approx(10.0, abs=1e-3)
    assert figures["noticed_after_ms"] == pytest.approx(10.0, abs=1e-3)
    assert figures["post_ms"] == 12.0


def test_memory_stat_and_oom_control_parse() -> None:
    stat = parse_flat_keyed(MEMORY_STAT)
    assert stat["rss"] == 218 * MB and stat["cache"] == 4.5 * MB and stat["mapped_file"] == MB
    oom = parse_flat_keyed("oom_kill_disable 0\nunder_oom 0\noom_kill 3\n")
    assert oom["oom_kill"] == 3


def test_parse_skips_lines_that_are_not_name_and_number() -> None:
    assert parse_flat_keyed("rss 10\n\nweird line here\nname text\nswap -1\n") == {
        "rss": 10,
        "swap": -1,
    }


def test_peaks_keep_maxima_and_the_cache_at_the_usage_peak() -> None:
    peaks = update_peaks(Peaks(), {"rss": 100, "cache": 5}, usage=110)
    peaks = update_peaks(peaks, {"rss": 300, "cache": 1}, usage=305)
    peaks = update_peaks(peaks, {"rss": 200, "cache": 90}, usage=295)
    assert peaks == Peaks(rss=300, usage=305, cache_at_usage_peak=1, samples=3)


def test_proc_status_kb_reads_the_kb_fields(tmp_path: Path) -> None:
    (tmp_path / "42").mkdir()
    (tmp_path / "42" / "status").write_text(
        "Name:\tcelery\nVmHWM:\t  120000 kB\nVmRSS:\t   90000 kB\nThreads:\t4\n"
    )
    assert proc_status_kb(42, proc=tmp_path) == {"VmHWM": 120000, "VmRSS": 90000}


def test_which_cgroup_controller_is_there(tmp_path: Path) -> None:
    v1, v2 = tmp_path / "v1" / "memory", tmp_path / "v2"
    v1.mkdir(parents=True)
    v2.mkdir()
    assert unavailable_reason(v1, v2) == "no memory cgroup controller is mounted"
    (v2 / "cgroup.controllers").write_text("cpu memory\n")
    assert "cgroup v2" in (unavailable_reason(v1, v2) or "")
    (v1 / "memory.limit_in_bytes").write_text("9223372036854771712\n")
    assert unavailable_reason(v1, v2) is None


def test_group_is_made_with_its_limit_and_wraps_commands(tmp_path: Path) -> None:
    group = MemoryGroup.create("cutout-bench-1", 512 * MB, root=tmp_path)
    assert (tmp_path / "cutout-bench-1" / "memory.limit_in_bytes").read_text() == str(512 * MB)
    wrapper = group.wrapper()
    assert wrapper[:2] == ["sh", "-c"] and wrapper[-1] == str(group.path / "cgroup.procs")
    assert 'exec "$@"' in wrapper[2]


def test_headline_is_the_cgroup_peak_else_the_vmhwm_sum() -> None:
    assert headline_mb({"peak_rss_mb": 201.4}, vmhwm_sum_mb=394.0) == 201.4
    assert headline_mb(None, vmhwm_sum_mb=394.0) == 394.0


def test_verdict_against_targets() -> None:
    assert verdict("1024", "fast", 299.0, []) == "pass"
    assert verdict("1024", "fast", 301.0, []) == "FAIL"
    assert verdict("25mp", "best", 449.0, []) == "pass"
    assert verdict("512", "fast", 999.0, []) == "-"
    assert verdict("1024", "fast", 100.0, ["job1: delivered 2x"]) == "FAIL"


def test_problems_name_failures_redeliveries_and_oom_kills() -> None:
    lost = _finished(
        status=Status.FAILED,
        attempts=3,
        interruptions=3,
        error={"code": "worker_lost", "message": "died"},
    )
    problems = problems_of([_finished(), lost], oom_kills=3)
    assert len(problems) == 4
    assert "worker_lost" in problems[0] and "3 OOM kill(s)" in problems[-1]
    assert problems_of([_finished()], oom_kills=0) == []


def test_budget_line_from_the_worker_log(tmp_path: Path) -> None:
    log = tmp_path / "worker.log"
    log.write_text(
        "[2025-01-01 00:00:00,000: INFO/MainProcess] worker1@host: memory limit 512 MB, "
        "CPU quota none, 2 usable CPUs; accepting up to 25 MP, default preset balanced "
        "(derived from 512 MB)\n"
    )
    line = budget_line(log) or ""
    assert line.startswith("memory limit 512 MB") and line.endswith("(derived from 512 MB)")
    log.write_text("nothing\n")
    assert budget_line(log) is None


def test_model_loads_from_the_worker_log() -> None:
    log = (
        "[2025-01-01 00:00:01,000: INFO/ForkPoolWorker-1] loading u2netp from "
        "/work/models/u2netp.onnx on openvino, 2 threads\n"
        "[2025-01-01 00:00:05,000: INFO/ForkPoolWorker-1] Task cutout.process[x] succeeded\n"
        "[2025-01-01 00:00:06,000: INFO/ForkPoolWorker-2] loading u2netp-int8 from "
        "models/u2netp-int8.onnx with 1 threads\n"
    )
    assert model_loads(log) == ["u2netp on openvino, 2 threads", "u2netp-int8 with 1 threads"]
    assert model_loads("nothing here\n") == []
