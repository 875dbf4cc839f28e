"""PNG encoders and compression levels vs size and time for a real cutout, to choose both.

    .venv/bin/python -m bench.encode_levels [--size 1024] [--repeat 5]

Cuts out a generated photo (bench/images.py) with the real pipeline, then encodes the same
RGBA picture with the project's writer (worker/pipeline/png.py: SUB filter, ISA-L deflate)
at each of its levels on 1 and 2 threads, with OpenCV's libpng (SUB filter, RLE: the
encoder before it) and with Pillow's encoder (what rembg writes, at its default level 6);
prints a markdown table and writes JSON to bench/results/.
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from bench.images import make
from bench.machine import load_average
from shared.options import ProcessOptions
from shared.settings import get_settings
from worker.pipeline.png import write_png
from worker.pipeline.run import make_picture

Encoder = Callable[[Image.Image], bytes]


def _ours(level: int, threads: int) -> Encoder:
    def run(picture: Image.Image) -> bytes:
        buffer = io.BytesIO()
        write_png(picture, buffer, level, threads)
        return buffer.getvalue()

    return run


def _opencv(level: int) -> Encoder:
    params = [
        cv2.IMWRITE_PNG_COMPRESSION,
        level,
        cv2.IMWRITE_PNG_FILTER,
        cv2.IMWRITE_PNG_FILTER_SUB,
        cv2.IMWRITE_PNG_STRATEGY,
        cv2.IMWRITE_PNG_STRATEGY_RLE,
    ]

    def run(picture: Image.Image) -> bytes:
        pixels = cv2.cvtColor(np.asarray(picture), cv2.COLOR_RGBA2BGRA)
        return cv2.imencode(".png", pixels, params)[1].tobytes()

    return run


def _pillow(level: int) -> Encoder:
    def run(picture: Image.Image) -> bytes:
        buffer = io.BytesIO()
        picture.save(buffer, "PNG", compress_level=level)
        return buffer.getvalue()

    return run


ENCODERS: list[tuple[str, int, int, Encoder]] = [
    *[
        ("cutout (ISA-L, SUB)", level, threads, _ours(level, threads))
        for level in range(4)
        for threads in (1, 2)
    ],
    ("OpenCV libpng (SUB, RLE)", 1, 1, _opencv(1)),
    *[("Pillow", level, 1, _pillow(level)) for level in (1, 6, 9)],
]


def measure(picture: Image.Image, encoder: Encoder, repeat: int) -> tuple[float, int]:
    times, size = [], 0
    for _ in range(repeat):
        start = time.perf_counter()
        size = len(encoder(picture))
        times.append((time.perf_counter() - start) * 1000)
    return round(statistics.median(times), 1), size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="1024")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    source = make(args.size, Path("bench/images"))
    picture, _ = make_picture(source, ProcessOptions(), settings=get_settings())
    start_load = load_average()
    rows = []
    for name, level, threads, encoder in ENCODERS:
        median, size = measure(picture, encoder, args.repeat)
        rows.append(
            {
                "encoder": name,
                "level": level,
                "threads": threads,
                "median_ms": median,
                "bytes": size,
            }
        )
    print(f"| encoder | level | threads | ms ({args.size} RGBA cutout) | KB |")
    print("| --- | --- | --- | --- | --- |")
    for row in rows:
        cells = [
            row["encoder"],
            row["level"],
            row["threads"],
            row["median_ms"],
            row["bytes"] // 1024,
        ]
        print("| " + " | ".join(map(str, cells)) + " |")
    result = {
        "command": f"python -m bench.encode_levels --size {args.size}",
        "picture": list(picture.size),
        "load_average": {"start": start_load, "end": load_average()},
        "rows": rows,
    }
    out = Path("bench/results")
    out.mkdir(parents=True, exist_ok=True)
    (out / f"encode_levels_{args.size}.json").write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
