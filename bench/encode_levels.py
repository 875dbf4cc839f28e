"""PNG encoder and compression level vs size and time for a real cutout, to choose both.

    .venv/bin/python -m bench.encode_levels [--size 1024] [--repeat 5]

Cuts out a generated photo (bench/images.py) with the real pipeline, then encodes the same
RGBA picture at every zlib level with OpenCV's libpng (SUB filter, RLE) and with Pillow's
encoder; prints a markdown table and writes JSON to bench/results/.
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import time
from pathlib import Path

from bench.images import make
from shared.options import ProcessOptions
from shared.settings import get_settings
from worker.pipeline import encode as encode_module
from worker.pipeline.encode import encode
from worker.pipeline.run import make_picture

# The size limit under which encode_png uses OpenCV: all, or nothing (Pillow).
ENCODERS = {"opencv": 10**12, "pillow": 0}


def measure(picture, encoder: str, level: int, repeat: int) -> dict:
    encode_module.OPENCV_PNG_MAX_PIXELS = ENCODERS[encoder]
    times, size = [], 0
    for _ in range(repeat):
        buffer = io.BytesIO()
        start = time.perf_counter()
        encode(picture, buffer, "png", png_compress_level=level)
        times.append((time.perf_counter() - start) * 1000)
        size = buffer.tell()
    median = round(statistics.median(times), 1)
    return {"encoder": encoder, "level": level, "median_ms": median, "bytes": size}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="1024")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    source = make(args.size, Path("bench/images"))
    picture, _ = make_picture(source, ProcessOptions(), settings=get_settings())
    rows = [
        measure(picture, encoder, level, args.repeat) for level in range(10) for encoder in ENCODERS
    ]
    print(f"| encoder | level | ms ({args.size} RGBA cutout) | size (KB) |")
    print("| --- | --- | --- | --- |")
    for row in rows:
        cells = [row["encoder"], row["level"], row["median_ms"], row["bytes"] // 1024]
        print("| " + " | ".join(map(str, cells)) + " |")
    out = Path("bench/results")
    out.mkdir(parents=True, exist_ok=True)
    (out / f"encode_levels_{args.size}.json").write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
