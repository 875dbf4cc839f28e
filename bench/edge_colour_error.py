"""Colour error at soft edges: the clean-colour estimators against a known foreground.

    .venv/bin/python -m bench.edge_colour_error [--limit N]   # bench/results/edge_colour_error.json

Each AIM-500 dev photo is taken as the foreground F and composited with its true matte over
two synthetic backgrounds B (a smooth gradient and a grainy one, in colours far from most
photos'): I = F a + B (1 - a). Each estimator then gets I and an alpha, either the true
matte or one as soft as the model's masks (the matte shrunk to the model's 320 px and
stretched back bicubically), and is scored in the soft band of that alpha (where the true
matte is not 0 either) by the alpha-weighted mean |estimate - F| over the three channels,
in grey levels. "as photographed" leaves I as it is.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from bench.machine import machine_info
from worker.pipeline.foreground import blur_fusion, estimate_foreground

ROOT = Path(__file__).resolve().parent.parent
DEV = ROOT.parent / "shared" / "eval" / "dev" / "AIM-500"
RESULT = ROOT / "bench" / "results" / "edge_colour_error.json"
MODEL_SIDE = 320


def backgrounds(height: int, width: int) -> dict[str, np.ndarray]:
    """Two backgrounds unlike the photos' own: a cyan-magenta gradient and a grainy green."""
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    gradient = np.stack([40 + 200 * xx / width, 220 - 120 * yy / height, 230 + 0 * xx], -1)
    grain = np.random.default_rng(0).normal(0, 25, (height, width, 1)).astype(np.float32)
    green = np.stack([30 + 0 * xx, 170 + 0 * xx, 60 + 0 * xx], -1) + grain
    return {"gradient": gradient, "grainy": green}


def model_soft(matte: np.ndarray) -> np.ndarray:
    """The matte as soft as the model's masks: down to 320 px, then bicubic back up."""
    height, width = matte.shape
    scale = MODEL_SIDE / max(height, width)
    small = cv2.resize(matte, (round(width * scale), round(height * scale)), cv2.INTER_AREA)
    return cv2.resize(small, (width, height), interpolation=cv2.INTER_CUBIC)


def band_error(estimate: np.ndarray, fg: np.ndarray, alpha: np.ndarray, truth: np.ndarray) -> float:
    """Alpha-weighted mean |estimate - F| where alpha is soft and the true matte is not 0."""
    band = (alpha > 0) & (alpha < 255) & (truth > 0)
    weights = alpha[band].astype(np.float64) / 255
    diff = np.abs(estimate[band].astype(np.float64) - fg[band]).mean(axis=1)
    return float((diff * weights).sum() / max(weights.sum(), 1e-9))


def _whole(image: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    soft = (alpha > 0) & (alpha < 255)
    out = image.copy()
    out[soft] = blur_fusion(image, alpha)[soft]
    return out


def _tiled(image: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    return np.asarray(estimate_foreground(Image.fromarray(image), Image.fromarray(alpha)))


ESTIMATORS: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    "as photographed": lambda image, alpha: image,
    "blur fusion 90/6/6, full resolution": _whole,
    "shipped estimate_foreground": _tiled,
}


def run(limit: int | None) -> dict:
    """Mean band errors and seconds per photo of each estimator, for both alphas."""
    photos = sorted((DEV / "images").glob("*.jpg"))[:limit]
    errors: dict[str, dict[str, list[float]]] = {}
    seconds: dict[str, float] = dict.fromkeys(ESTIMATORS, 0.0)
    for photo in photos:
        fg = np.asarray(Image.open(photo).convert("RGB"))
        truth = np.asarray(Image.open(DEV / "masks" / f"{photo.stem}.png").convert("L"))
        a = truth[..., None].astype(np.float32) / 255
        for bg_name, bg in backgrounds(*truth.shape).items():
            image = np.clip(np.rint(fg * a + bg * (1 - a)), 0, 255).astype(np.uint8)
            for alpha_name, alpha in (("true matte", truth), ("model-soft", model_soft(truth))):
                for name, estimator in ESTIMATORS.items():
                    start = time.perf_counter()
                    estimate = estimator(image, alpha)
                    seconds[name] += time.perf_counter() - start
                    key = f"{alpha_name}, {name}"
                    errors.setdefault(key, {}).setdefault(bg_name, []).append(
                        band_error(estimate, fg, alpha, truth)
                    )
    runs = len(photos) * 4
    return {
        "photos": len(photos),
        "band_error_grey_levels": {
            key: {bg: round(float(np.mean(v)), 3) for bg, v in by_bg.items()}
            | {"mean": round(float(np.mean([np.mean(v) for v in by_bg.values()])), 3)}
            for key, by_bg in errors.items()
        },
        "seconds_per_estimate": {k: round(v / runs, 4) for k, v in seconds.items()},
    }


def main() -> None:
    """Run and write bench/results/edge_colour_error.json."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--limit", type=int, help="only the first N photos")
    args = parser.parse_args()
    result = {"machine": machine_info(), **run(args.limit)}
    RESULT.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result["band_error_grey_levels"], indent=2))


if __name__ == "__main__":
    main()
