"""End-to-end cost of clean edge colours at 1024 px with `balanced`, on and off, interleaved.

    .venv/bin/python -m bench.clean_colour_cost [--repeats N]   # results/clean_colour_cost.json

Three 1024 px JPEGs (the generated photo of bench/images.py and two photos bundled with
scikit-image, astronaut and chelsea, enlarged) go through the whole in-process pipeline
(decode to encoded PNG cutout) alternately with clean_colors off and on, so both see the
same machine load; the figure is the ratio of the median times, and of the CPU times.
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import time
from pathlib import Path

from PIL import Image

from bench.images import synthetic_photo
from bench.machine import machine_info
from shared.options import ProcessOptions
from shared.settings import get_settings
from worker.pipeline.run import process

RESULT = Path(__file__).resolve().parent / "results" / "clean_colour_cost.json"


def photos() -> dict[str, bytes]:
    """1024 px JPEGs (quality 92) by name."""
    from skimage import data  # dev dependency; its photos ship inside the wheel

    pictures = {
        "generated": synthetic_photo(1024, 768),
        "astronaut": Image.fromarray(data.astronaut()),
        "chelsea": Image.fromarray(data.chelsea()),
    }
    encoded = {}
    for name, picture in pictures.items():
        scale = 1024 / max(picture.size)
        size = (round(picture.width * scale), round(picture.height * scale))
        buffer = io.BytesIO()
        picture.resize(size, Image.Resampling.LANCZOS).save(buffer, "JPEG", quality=92)
        encoded[name] = buffer.getvalue()
    return encoded


def timed(source: bytes, clean: bool) -> tuple[float, float]:
    """Wall and CPU seconds of one run."""
    options = ProcessOptions(preset="balanced", clean_colors=clean)
    wall, cpu = time.perf_counter(), time.process_time()
    process(source, io.BytesIO(), options, settings=get_settings())
    return time.perf_counter() - wall, time.process_time() - cpu


def run(repeats: int) -> dict:
    """Median wall/CPU seconds per photo, off and on, and their ratios."""
    rows = {}
    for name, source in photos().items():
        timed(source, True)  # warm-up: model load, first-call allocations
        runs: dict[bool, list[tuple[float, float]]] = {False: [], True: []}
        for _ in range(repeats):
            for clean in (False, True):
                runs[clean].append(timed(source, clean))
        medians = {
            clean: [statistics.median(t[i] for t in runs[clean]) for i in (0, 1)] for clean in runs
        }
        rows[name] = {
            "off_ms": round(medians[False][0] * 1000),
            "on_ms": round(medians[True][0] * 1000),
            "wall_ratio": round(medians[True][0] / medians[False][0], 3),
            "cpu_ratio": round(medians[True][1] / medians[False][1], 3),
        }
    return rows


def main() -> None:
    """Run and write bench/results/clean_colour_cost.json."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    before = machine_info()
    rows = run(args.repeats)
    result = {
        "command": f"python -m bench.clean_colour_cost --repeats {args.repeats}",
        "machine": before,
        "rows": rows,
    }
    RESULT.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
