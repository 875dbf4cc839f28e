"""WebP settings vs size, visual quality and time for real cut-outs, to choose the default.

    .venv/bin/python -m bench.webp [--repeat 5] [--jobs 6]

Cuts out three 1024 px photos with the real pipeline (the bench photo of bench/images.py and
two of scikit-image's bundled photos, upscaled), then encodes each RGBA cut-out with
Pillow's WebP encoder (libwebp) over a grid of `method`, `quality`, `alpha_quality`,
`exact` and lossless, and with the project's PNG writer as the reference. Visual quality is
what a shop shows: the decoded cut-out composited over white and over black, PSNR against
the same composite of the exact cut-out (the lower of the two), and the largest alpha
error. Each round encodes every setting once, in turn, so a busy machine slows all alike.

Then the whole path, end to end (JPEG bytes in, encoded file out, through `process`), for
PNG, the old WebP default, the new one and JPEG on white, alternating, `--jobs` rounds.
Writes bench/results/webp.json and prints both tables as markdown.
"""

from __future__ import annotations

import argparse
import io
import json
import math
import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, features

from bench.images import make
from bench.machine import load_average, machine_info
from shared.options import ProcessOptions
from shared.settings import get_settings
from worker.pipeline.encode import WEBP_SETTINGS
from worker.pipeline.png import write_png
from worker.pipeline.run import make_picture, process

OLD_DEFAULT: dict[str, Any] = {"quality": 90, "method": 4}  # Pillow's alpha_quality=100
NEW_DEFAULT: dict[str, Any] = dict(WEBP_SETTINGS)  # end_to_end swaps the module's setting
GRID: list[dict[str, Any]] = [
    OLD_DEFAULT,
    *[{"quality": 90, "method": m} for m in (0, 1, 2, 3)],
    *[
        {"quality": 90, "method": m, "alpha_quality": aq}
        for m in (1, 2, 3, 4)
        for aq in (70, 80, 90)
    ],
    {"quality": 91, "method": 2, "alpha_quality": 80},
    {"quality": 85, "method": 2, "alpha_quality": 80},
    {"quality": 90, "method": 4, "exact": True},
    *[{"lossless": True, "quality": q, "method": m} for m, q in ((0, 0), (0, 25), (1, 50))],
]


def photos(size: int) -> list[tuple[str, Path]]:
    """The bench photo and two bundled scikit-image photos, about `size` px wide, as JPEGs."""
    from skimage import data

    folder = Path("bench/images")
    found = [("bench photo", make(str(size), folder))]
    for name in ("coffee", "astronaut"):
        path = folder / f"skimage-{name}-{size}.jpg"
        if not path.exists():
            picture = Image.fromarray(getattr(data, name)())
            height = round(picture.height * size / picture.width)
            picture.resize((size, height), Image.Resampling.LANCZOS).save(path, quality=92)
        found.append((name, path))
    return found


def encode(picture: Image.Image, settings: dict[str, Any]) -> bytes:
    buffer = io.BytesIO()
    if settings.get("format") == "png":
        write_png(picture, buffer, 1, 1)
    else:
        picture.save(buffer, "WEBP", **settings)
    return buffer.getvalue()


def _composite(rgba: np.ndarray, background: float) -> np.ndarray:
    alpha = rgba[..., 3:4].astype(np.float32) / 255
    return rgba[..., :3].astype(np.float32) * alpha + background * (1 - alpha)


def visual_quality(reference: np.ndarray, data: bytes) -> dict[str, float]:
    """PSNR (dB) of the decoded cut-out over white and black, the lower; max alpha error."""
    decoded = np.asarray(Image.open(io.BytesIO(data)).convert("RGBA"))
    psnrs = []
    for background in (255.0, 0.0):
        error = np.mean((_composite(decoded, background) - _composite(reference, background)) ** 2)
        psnrs.append(99.0 if error == 0 else 10 * math.log10(255**2 / error))
    alpha_error = np.abs(decoded[..., 3].astype(int) - reference[..., 3].astype(int)).max()
    return {"psnr_db": round(min(psnrs), 2), "max_alpha_error": int(alpha_error)}


def encode_table(pictures: list[tuple[str, Image.Image]], repeat: int) -> list[dict[str, Any]]:
    """One row per (photo, setting): median ms, bytes, visual quality."""
    settings = [{"format": "png"}, *GRID]
    times: dict[tuple[int, int], list[float]] = {}
    for _ in range(repeat):
        for p, (_, picture) in enumerate(pictures):
            for s, setting in enumerate(settings):
                start = time.perf_counter()
                encode(picture, setting)
                times.setdefault((p, s), []).append((time.perf_counter() - start) * 1000)
    rows = []
    for p, (name, picture) in enumerate(pictures):
        reference = np.asarray(picture)
        for s, setting in enumerate(settings):
            data = encode(picture, setting)
            rows.append(
                {
                    "photo": name,
                    "settings": setting,
                    "median_ms": round(statistics.median(times[(p, s)]), 1),
                    "bytes": len(data),
                    **visual_quality(reference, data),
                }
            )
    return rows


def end_to_end(sources: list[Path], rounds: int, preset: str) -> dict[str, Any]:
    """Median end-to-end and encode ms per output for one preset, alternating outputs."""
    import worker.pipeline.encode as encode_module

    settings = get_settings()
    variants = {
        "png": ({"format": "png"}, NEW_DEFAULT),
        "webp (old default)": ({"format": "webp"}, {"method": 4}),
        "webp (new default)": ({"format": "webp"}, NEW_DEFAULT),
        "jpeg on white": ({"mode": "color", "bg_color": "white"}, NEW_DEFAULT),
    }
    whole: dict[str, list[float]] = {name: [] for name in variants}
    encode: dict[str, list[float]] = {name: [] for name in variants}
    for round_index in range(rounds + 1):  # round 0 warms the model up, not counted
        for name, (fields, webp) in variants.items():
            encode_module.WEBP_SETTINGS = webp
            options = ProcessOptions.parse({**fields, "preset": preset})
            for source in sources:
                data = source.read_bytes()
                start = time.perf_counter()
                outcome = process(data, io.BytesIO(), options, settings=settings)
                if round_index:
                    whole[name].append((time.perf_counter() - start) * 1000)
                    encode[name].append(outcome.timings_ms["encode"])
    encode_module.WEBP_SETTINGS = NEW_DEFAULT
    medians = {name: round(statistics.median(values), 1) for name, values in whole.items()}
    return {
        "preset": preset,
        "median_ms": medians,
        "encode_median_ms": {k: round(statistics.median(v), 1) for k, v in encode.items()},
        "ratio_to_png": {name: round(ms / medians["png"], 2) for name, ms in medians.items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1024)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--jobs", type=int, default=6, help="end-to-end rounds")
    parser.add_argument("--presets", nargs="+", default=["fast", "balanced"])
    args = parser.parse_args()
    start_load = load_average()
    sources = photos(args.size)
    pictures = [
        (name, make_picture(path, ProcessOptions(), settings=get_settings())[0])
        for name, path in sources
    ]
    rows = encode_table(pictures, args.repeat)
    print(markdown(rows, []), flush=True)
    whole = [end_to_end([path for _, path in sources], args.jobs, p) for p in args.presets]
    result = {
        "command": f"python -m bench.webp --size {args.size} --repeat {args.repeat} "
        f"--jobs {args.jobs} --presets {' '.join(args.presets)}",
        "machine": machine_info(),
        "load_average": {"start": start_load, "end": load_average()},
        "libwebp": features.version("webp"),
        "new_default": NEW_DEFAULT,
        "encode_rows": rows,
        "end_to_end": whole,
    }
    out = Path("bench/results")
    out.mkdir(parents=True, exist_ok=True)
    (out / "webp.json").write_text(json.dumps(result, indent=2))
    print(markdown(rows, whole).split("\n\n")[-1])


def markdown(rows: list[dict[str, Any]], whole: list[dict[str, Any]]) -> str:
    """The encode table (mean over the photos per setting) and the end-to-end table."""
    by_setting: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_setting.setdefault(json.dumps(row["settings"]), []).append(row)
    lines = [
        "| settings | ms (mean of photos) | KB | PSNR dB (worst photo) | max alpha error |",
        "| --- | --- | --- | --- | --- |",
    ]
    for key, group in by_setting.items():
        ms = statistics.mean(row["median_ms"] for row in group)
        kb = statistics.mean(row["bytes"] for row in group) / 1024
        psnr = min(row["psnr_db"] for row in group)
        alpha = max(row["max_alpha_error"] for row in group)
        lines.append(f"| `{key}` | {ms:.1f} | {kb:.0f} | {psnr:.2f} | {alpha} |")
    if not whole:
        return "\n".join(lines)
    lines += [
        "",
        "| preset | output | end-to-end ms | encode ms | end-to-end ratio to PNG |",
        "| --- | --- | --- | --- | --- |",
    ]
    for run in whole:
        for name, ms in run["median_ms"].items():
            cells = [run["preset"], name, ms, run["encode_median_ms"][name]]
            lines.append("| " + " | ".join(map(str, [*cells, run["ratio_to_png"][name]])) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
