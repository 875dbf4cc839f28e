"""Markdown tables for the engine, service, server, memory and PNG results (docs/performance.md).

Only renders: every number comes from the JSON the bench modules wrote. The pipeline and
command-line tables are in bench/report.py.
"""

from __future__ import annotations

from typing import Any

from bench.report import ms_spread, table, times_x


def engines_table(document: dict) -> str:
    """Per engine and model: speed, GFLOP/s, memory, load time, mask difference."""
    rows = []
    for row in document["engines"]:
        load = f"{row['load_s_cold']:.2f}"
        if row.get("load_s_cached") is not None:
            load += f" / {row['load_s_cached']:.2f}"
        rows.append(
            [
                f"{row['engine']} {row['model']}",
                row["precision"],
                f"{row['median_ms']:.0f}",
                times_x(row["time_vs_ort_fp32"]),
                row["gflops_median"],
                row.get("peak_rss_mb_cached") or row["peak_rss_mb_cold"],
                load,
                f"{row['mask_diff_mean']:.2f} / {row['mask_diff_max']}",
            ]
        )
    header = [
        "engine / model",
        "precision",
        "median ms",
        "vs ORT fp32",
        "GFLOP/s",
        "peak RSS MB",
        "load s (cold / cached)",
        "mask diff mean / max",
    ]
    return f"`{document['command']}` ({document['input']}):\n\n" + table(header, rows)


def service_tables(document: dict) -> str:
    """Queue overhead of the service, and throughput of worker layouts."""
    overhead = document["queue_overhead"]
    measures = [
        (
            "client overhead: POST sent to `succeeded` seen, minus the stage timings",
            "client_overhead_ms",
        ),
        ("of which in the job record: created to started (queue)", "queue_ms"),
        ("worker time outside the timed stages", "worker_untimed_ms"),
        ("pipeline", "pipeline_ms"),
    ]
    first = table(
        ["measure", "median ms", "p90 ms"],
        [[label, overhead[key]["median"], overhead[key]["p90"]] for label, key in measures],
    )
    second = table(
        ["layout", "jobs", "seconds", "images/s", "pipeline ms, median"],
        [
            [r["layout"], r["jobs"], r["seconds"], r["images_per_s"], r["pipeline_ms"]["median"]]
            for r in document["throughput"]
        ],
    )
    cold = document["cold_start"][0]
    return "\n\n".join(
        [
            f"`{document['command']}`: {document['image']}; API {document['api_server']}; "
            f"load average before {document['load_average_before']}.",
            first,
            f"Throughput of a burst on the machine's cores:\n\n{second}",
            f"Cold start (median of {cold['runs']}): worker ready {cold['ready_s']} s after "
            f"launch, first result {cold['succeeded_s']} s.",
        ]
    )


def server_table(document: dict) -> str:
    """rembg's HTTP server against the Cutout stack: latency, throughput, memory."""
    rows, base = [], document["rows"]["rembg s (u2netp)"]
    for name, row in document["rows"].items():
        rows.append(
            [
                name,
                ms_spread(row["latency_ms"]),
                times_x(row["latency_ms"]["median"] / base["latency_ms"]["median"]),
                row["throughput_per_s"],
                times_x(row["throughput_per_s"] / base["throughput_per_s"]),
                f"{row['memory']['pss_mb']:.0f}",
                times_x(row["memory"]["pss_mb"] / base["memory"]["pss_mb"]),
            ]
        )
    header = [
        "server",
        "latency ms, median (min-max)",
        "vs rembg",
        "images/s, 2 clients",
        "vs rembg",
        "PSS MB, all processes",
        "vs rembg",
    ]
    load = document["load_average"]
    return (
        f"`{document['command']}` at {document['size']} px; load average {load['start']} / "
        f"{load['end']}:\n\n" + table(header, rows)
    )


def memory_table(document: dict) -> str:
    """Whole-worker memory in a 512 MB cgroup, per size and preset."""
    rows: list[list[Any]] = []
    for row in document["rows"]:
        group = row["cgroup"] or {}
        rows.append(
            [
                row["size"],
                row["preset"],
                group.get("peak_rss_mb"),
                group.get("max_usage_mb"),
                group.get("idle_rss_mb"),
                row["parent_hwm_mb"],
                row["child_hwm_mb"],
                group.get("oom_kills"),
                row["target_mb"],
                row["verdict"],
            ]
        )
    header = [
        "size",
        "preset",
        "peak anon MB (cgroup)",
        "max_usage MB (incl. cache)",
        "idle anon MB",
        "parent HWM",
        "child HWM",
        "OOM kills",
        "target MB",
        "result",
    ]
    return f"`{document['command']}`, {document['cgroup']}; {document['headline']}:\n\n" + table(
        header, rows
    )


def png_table(small: dict, large: dict) -> str:
    """PNG encoders at 1024 px and 12 MP: time and size per level and thread count."""
    big = {(r["encoder"], r["level"], r["threads"]): r for r in large["rows"]}
    rows = []
    for row in small["rows"]:
        other = big.get((row["encoder"], row["level"], row["threads"]), {})
        rows.append(
            [
                row["encoder"],
                row["level"],
                row["threads"],
                row["median_ms"],
                round(row["bytes"] / 1024),
                other.get("median_ms"),
                round(other["bytes"] / 1024) if other else None,
            ]
        )
    header = ["encoder", "level", "threads", "ms, 1024 px", "KB", "ms, 12 MP", "KB"]
    return f"`{small['command']}` and `{large['command']}`:\n\n" + table(header, rows)
