"""Before/after pictures of clean edge colours for the README, from freely licensed photos.

    .venv/bin/python bench/edge_colour_pictures.py     # writes docs/images/edge-colours-*.png

The photos ship inside the scikit-image wheel (its skimage/data folder; never downloaded, and
not from the eval sets). Each runs through the real pipeline (u2netp) onto a solid colour that
contrasts with its old background, once without and once with clean_colors; the picture is
the same edge region of both, enlarged 3x with square pixels, side by side.
"""

from __future__ import annotations

import importlib.util
import sys
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from shared.options import ProcessOptions  # noqa: E402
from shared.settings import Settings  # noqa: E402
from worker.pipeline.run import make_picture  # noqa: E402

OUT_DIR = ROOT / "docs" / "images"
ZOOM = 3
GAP = 12
LABEL_HEIGHT = 26


@dataclass(frozen=True)
class Sample:
    """One photo, the new background colour and the edge region (x0, y0, x1, y1) to show."""

    name: str
    background: str
    box: tuple[int, int, int, int]
    licence: str


# Licences as the photos' docstrings in skimage/data/_fetchers.py state them.
SAMPLES = (
    Sample("chelsea", "#0a1a3c", (300, 60, 412, 172), "CC0, Stefan van der Walt"),
    Sample("astronaut", "#0a1a3c", (150, 5, 262, 117), "public domain, NASA"),
    Sample("coffee", "#ffffff", (186, 0, 298, 112), "CC0, Rachel Michetti"),
)


def skimage_data() -> Path:
    """The data folder inside the installed scikit-image package."""
    spec = importlib.util.find_spec("skimage")
    if spec is None or not spec.submodule_search_locations:
        sys.exit("needs scikit-image in this venv: pip install scikit-image==0.26.0")
    return Path(next(iter(spec.submodule_search_locations))) / "data"


def composite(photo: Path, background: str, clean: bool, settings: Settings) -> Image.Image:
    """The photo's subject on `background`, through the real pipeline."""
    options = ProcessOptions.parse(
        {"mode": "color", "bg_color": background, "clean_colors": clean, "format": "png"}
    )
    picture, outcome = make_picture(photo, options, settings=settings)
    if outcome.method != "u2netp":
        sys.exit(f"{photo.name}: the model did not run ({outcome.warnings}); run make setup")
    return picture


def side_by_side(before: Image.Image, after: Image.Image) -> Image.Image:
    """Two enlarged crops with their labels above them."""
    width, height = before.width * ZOOM, before.height * ZOOM
    sheet = Image.new("RGB", (2 * width + GAP, height + LABEL_HEIGHT), "#e8e8e8")
    draw = ImageDraw.Draw(sheet)
    font = ImageFont.load_default(size=16)
    for column, (crop, label) in enumerate(((before, "as photographed"), (after, "clean colours"))):
        left = column * (width + GAP)
        sheet.paste(crop.resize((width, height), Image.Resampling.NEAREST), (left, LABEL_HEIGHT))
        draw.text((left + 4, 4), label, fill="black", font=font)
    return sheet


def main() -> None:
    data, settings = skimage_data(), Settings()
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    for sample in SAMPLES:
        photo = data / f"{sample.name}.png"
        before, after = (
            composite(photo, sample.background, clean, settings).crop(sample.box)
            for clean in (False, True)
        )
        target = OUT_DIR / f"edge-colours-{sample.name}.png"
        side_by_side(before, after).save(target, optimize=True)
        print(f"{target.relative_to(ROOT)}: {target.stat().st_size // 1024} KB ({sample.licence})")


if __name__ == "__main__":
    main()
