"""Peak memory of framed and shadowed outputs at 25 MP, against a plain cut-out, same run.

    .venv/bin/python -m bench.framing_memory [--size 25mp] [--preset fast]

Each configuration runs the whole pipeline (`process`: decode, model, compose, encode) once
in a fresh Python process on the generated photo of bench/images.py, and reports that
process's peak resident memory (ru_maxrss): the worker's pool child does the same work, so
the difference to the plain cut-out is what the option adds to a worker's peak
(bench/memory.py measures the whole worker). Writes bench/results/framing_memory.json.
"""

from __future__ import annotations

import argparse
import io
import json
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.images import make
from bench.machine import load_average

CONFIGURATIONS: list[dict[str, Any]] = [
    {},
    {"shadow": "drop"},
    {"shadow": "drop", "mode": "color", "bg_color": "white"},
    {"vertical_alignment": "bottom"},
    {"vertical_alignment": "bottom", "shadow": "drop"},
    {"vertical_alignment": "bottom", "shadow": "contact", "mode": "color", "bg_color": "white"},
    {
        "canvas": "2000x2000",
        "padding": 0.1,
        "shadow": "contact",
        "mode": "color",
        "bg_color": "white",
    },
    {"canvas": "2000x2000", "padding": 0.1, "shadow": "drop", "format": "webp"},
]


def child(path: Path, options: dict[str, Any]) -> dict[str, Any]:
    """Run one job in this process and report its peak memory and stage timings."""
    from shared.options import ProcessOptions
    from shared.settings import get_settings
    from worker.pipeline.run import process

    data = path.read_bytes()
    start = time.perf_counter()
    outcome = process(data, io.BytesIO(), ProcessOptions.parse(options), settings=get_settings())
    return {
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "seconds": round(time.perf_counter() - start, 1),
        "compose_ms": outcome.timings_ms.get("compose"),
        "output": outcome.to_dict()["output"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="25mp")
    parser.add_argument("--preset", default="fast")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    path = make(args.size, Path("bench/images"))
    if args.child:
        print(json.dumps(child(path, json.loads(args.child))))
        return
    start_load, rows = load_average(), []
    for options in CONFIGURATIONS:
        options = {"preset": args.preset, **options}
        command = [sys.executable, "-m", "bench.framing_memory", "--size", args.size]
        done = subprocess.run(  # noqa: S603 - this very module, fixed arguments
            [*command, "--child", json.dumps(options)],
            capture_output=True,
            text=True,
            timeout=900,
            check=True,
        )
        rows.append({"options": options, **json.loads(done.stdout.splitlines()[-1])})
    plain = rows[0]["peak_rss_mb"]
    print(f"| options ({args.size}, {args.preset}) | peak RSS MB | vs plain cut-out |")
    print("| --- | --- | --- |")
    for row in rows:
        shown = json.dumps({k: v for k, v in row["options"].items() if k != "preset"})
        extra = row["peak_rss_mb"] - plain
        print(f"| `{shown}` | {row['peak_rss_mb']} | {extra:+d} |")
    result = {
        "command": f"python -m bench.framing_memory --size {args.size} --preset {args.preset}",
        "load_average": {"start": start_load, "end": load_average()},
        "rows": rows,
    }
    Path("bench/results").mkdir(parents=True, exist_ok=True)
    Path("bench/results/framing_memory.json").write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
