"""Before/after pictures of framed, shadowed outputs for docs/output.md, from bundled photos.

    .venv/bin/python bench/framing_pictures.py     # writes docs/images/framing-*.jpg

The photos ship inside the scikit-image wheel (CC0 / public domain; never downloaded, not
from the eval sets). Each runs through the real pipeline (u2netp) with the framing and
shadow options written under it; the sheet shows the photo as it came and the output side
by side, a transparent output over a grey checkerboard.
"""

from __future__ import annotations

import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw, ImageFont

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.edge_colour_pictures import skimage_data  # noqa: E402
from shared.options import ProcessOptions  # noqa: E402
from shared.settings import Settings  # noqa: E402
from worker.pipeline.run import make_picture  # noqa: E402

OUT_DIR = ROOT / "docs" / "images"
PANEL_HEIGHT = 360
GAP = 12
LABEL_HEIGHT = 60
CHECKER = 12


@dataclass(frozen=True)
class Sample:
    """One photo, the options it is framed with, and its licence."""

    name: str
    options: dict[str, Any]
    licence: str
    suffix: str = ""


SAMPLES = (
    Sample(
        "coffee",
        {
            "canvas": "1000x1000",
            "padding": "10%",
            "vertical_alignment": "bottom",
            "shadow": "contact",
            "mode": "color",
            "bg_color": "#ffffff",
        },
        "CC0, Rachel Michetti",
    ),
    Sample(
        "coffee",
        {"canvas": "1200x900", "scale": "80%", "horizontal_alignment": "left", "shadow": "drop"},
        "CC0, Rachel Michetti",
        "-drop",
    ),
    Sample(
        "astronaut",
        {"canvas": "800x1000", "padding": 0.06, "vertical_alignment": "bottom", "shadow": "drop"},
        "public domain, NASA",
    ),
)


def checkerboard(size: tuple[int, int]) -> Image.Image:
    """The grey squares image editors show behind transparency."""
    board = Image.new("RGB", size, "#ffffff")
    draw = ImageDraw.Draw(board)
    for top in range(0, size[1], CHECKER):
        for left in range((top // CHECKER) % 2 * CHECKER, size[0], 2 * CHECKER):
            draw.rectangle((left, top, left + CHECKER - 1, top + CHECKER - 1), fill="#d9d9d9")
    return board


def panel(picture: Image.Image) -> Image.Image:
    """`picture` scaled to the panel height, flattened over a checkerboard if transparent."""
    width = round(picture.width * PANEL_HEIGHT / picture.height)
    scaled = picture.resize((width, PANEL_HEIGHT), Image.Resampling.LANCZOS)
    if scaled.mode != "RGBA":
        return scaled.convert("RGB")
    board = checkerboard(scaled.size).convert("RGBA")
    board.alpha_composite(scaled)
    return board.convert("RGB")


def sheet(before: Image.Image, after: Image.Image, caption: str) -> Image.Image:
    """The two panels side by side under their labels."""
    left, right = panel(before), panel(after)
    out = Image.new("RGB", (left.width + GAP + right.width, PANEL_HEIGHT + LABEL_HEIGHT), "#e8e8e8")
    draw = ImageDraw.Draw(out)
    font = ImageFont.load_default(size=14)
    draw.text((4, 4), "as photographed", fill="black", font=font)
    draw.text((left.width + GAP + 4, 4), caption, fill="black", font=font)
    out.paste(left, (0, LABEL_HEIGHT))
    out.paste(right, (left.width + GAP, LABEL_HEIGHT))
    return out


def caption(options: dict[str, Any]) -> str:
    """The options as form fields, wrapped to fit above the output."""
    return textwrap.fill(" ".join(f"{key}={value}" for key, value in options.items()), 40)


def main() -> None:
    data, settings = skimage_data(), Settings()
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    for sample in SAMPLES:
        photo = next(data.glob(f"{sample.name}.*"))
        options = ProcessOptions.parse({**sample.options, "format": "png"})
        picture, outcome = make_picture(photo, options, settings=settings)
        if outcome.method != "u2netp":
            sys.exit(f"{photo.name}: the model did not run ({outcome.warnings}); run make setup")
        with Image.open(photo) as before:
            result = sheet(before.convert("RGB"), picture, caption(sample.options))
        target = OUT_DIR / f"framing-{sample.name}{sample.suffix}.jpg"
        result.save(target, quality=88, optimize=True)
        print(f"{target.relative_to(ROOT)}: {target.stat().st_size // 1024} KB ({sample.licence})")


if __name__ == "__main__":
    main()
