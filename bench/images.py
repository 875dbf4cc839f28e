"""Realistic test photos at any size, made by script (no eval data is copied into the repo).

A photo-like scene: a smooth lit background with grain, and a textured subject with soft
edges, saved as a camera-like JPEG (quality 92, 4:2:0). When an eval photo is available it
is used as the texture source instead, upscaled: closer to real JPEG statistics.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

SIZES = {
    "512": (512, 384),
    "1024": (1024, 768),
    "2048": (2048, 1536),
    "12mp": (4000, 3000),
    "25mp": (6124, 4082),
}


def synthetic_photo(width: int, height: int, seed: int = 0) -> Image.Image:
    """A photo-like RGB scene built at 1/4 size and upscaled (fast even for 25 MP)."""
    rng = np.random.default_rng(seed)
    w, h = max(64, width // 4), max(48, height // 4)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    light = 150 + 60 * np.cos(xx / w * 2.5) * np.sin(yy / h * 1.7)
    scene = np.stack([light * 0.9, light * 0.95, light], axis=-1)
    scene += rng.normal(0, 6, scene.shape)
    base = Image.fromarray(np.clip(scene, 0, 255).astype(np.uint8), "RGB")
    draw = ImageDraw.Draw(base)
    cx, cy, r = w // 2, h // 2, min(w, h) // 3
    draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=(180, 70, 40))
    draw.rectangle((cx - r // 3, cy - r - r // 2, cx + r // 3, cy - r // 2), fill=(60, 120, 170))
    base = base.filter(ImageFilter.GaussianBlur(0.8)).resize(
        (width, height), Image.Resampling.BICUBIC
    )
    return with_grain(base, rng)


def with_grain(picture: Image.Image, rng: np.random.Generator) -> Image.Image:
    """Add sensor-like per-pixel noise, so the JPEG is as large as a real camera file."""
    pixels = np.asarray(picture, dtype=np.int16)
    noisy = pixels + rng.integers(-6, 7, pixels.shape, dtype=np.int16)
    return Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8), "RGB")


def eval_photo(width: int, height: int) -> Image.Image | None:
    """An AIM-500 photo from CUTOUT_EVAL_DIR scaled to the size, if the data is there."""
    folder = (
        Path(os.environ.get("CUTOUT_EVAL_DIR", "../shared/eval")) / "dev" / "AIM-500" / "images"
    )
    photos = sorted(folder.glob("*.jpg"))
    if not photos:
        return None
    with Image.open(photos[0]) as photo:
        scaled = photo.convert("RGB").resize((width, height), Image.Resampling.LANCZOS)
    return with_grain(scaled, np.random.default_rng(0))


def make(size: str, folder: Path, *, source: str = "auto") -> Path:
    """Write (once) a JPEG of the named size into `folder` and return its path."""
    width, height = SIZES[size]
    path = folder / f"{source}-{size}.jpg"
    if not path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        picture = eval_photo(width, height) if source in ("auto", "eval") else None
        picture = picture or synthetic_photo(width, height)
        picture.save(path, "JPEG", quality=92)
    return path


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sizes", nargs="+", choices=sorted(SIZES))
    parser.add_argument("--out", type=Path, default=Path("bench/images"))
    parser.add_argument("--source", choices=["auto", "eval", "synthetic"], default="auto")
    arguments = parser.parse_args()
    for name in arguments.sizes:
        print(make(name, arguments.out, source=arguments.source))
