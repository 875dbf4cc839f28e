"""A soft shadow made from the subject's alpha, and the "over" steps that put it under the subject.

The shadow is drawn and blurred on a canvas reduced by up to SHADOW_MAX_REDUCTION (the blur
hides the lost detail), then enlarged once: a 25 MP shadow costs one 8-bit full-size image
and a few milliseconds of blur instead of a full-size float blur.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageFilter, ImageOps

from shared.options import ProcessOptions
from worker.pipeline.framing import Box

# Defaults per kind, as fractions of the subject's longer side (so a shadow looks the same
# whatever the output size): opacity, blur radius, offset (x right, y down).
DEFAULTS: dict[str, tuple[float, float, tuple[float, float]]] = {
    "drop": (0.45, 0.025, (0.015, 0.025)),
    "contact": (0.6, 0.02, (0.0, 0.0)),
}
# A contact shadow is the silhouette squashed to this share of the subject's height and set
# on its bottom edge, like the shadow of an object standing on a lit table.
CONTACT_HEIGHT = 0.1
# The blur runs on a canvas reduced by blur / 3 (a radius of 3 px there still gives a smooth
# gradient once enlarged bilinearly), at most this much.
SHADOW_MAX_REDUCTION = 16
# Rows per band when compositing RGBA, so no step holds a second full-size copy.
BAND_ROWS = 512


@dataclass(frozen=True)
class ShadowSpec:
    """A shadow in output pixels."""

    kind: str
    opacity: float
    blur: float
    offset: tuple[int, int]


def shadow_spec(options: ProcessOptions, subject: Box) -> ShadowSpec:
    """The options' shadow with every unset value taken from the kind's defaults."""
    opacity, blur, (dx, dy) = DEFAULTS[options.shadow]
    longer = max(subject.width, subject.height)
    return ShadowSpec(
        kind=options.shadow,
        opacity=opacity if options.shadow_opacity is None else options.shadow_opacity,
        blur=round(blur * longer, 1) if options.shadow_blur is None else options.shadow_blur,
        offset=options.shadow_offset or (round(dx * longer), round(dy * longer)),
    )


def _silhouette(
    alpha: Image.Image, at: tuple[int, int], spec: ShadowSpec
) -> tuple[Image.Image, tuple[int, int]]:
    """The alpha the shadow is cast from, and where it sits on the canvas (before blurring)."""
    x, y = at[0] + spec.offset[0], at[1] + spec.offset[1]
    if spec.kind == "contact":
        flat = max(1, round(alpha.height * CONTACT_HEIGHT))
        squashed = alpha.resize((alpha.width, flat), Image.Resampling.BOX)
        # Two thirds above the subject's bottom edge: most of it hidden under the subject.
        return squashed, (x, y + alpha.height - (2 * flat) // 3)
    return alpha, (x, y)


def shadow_mask(
    alpha: Image.Image, at: tuple[int, int], canvas: tuple[int, int], spec: ShadowSpec
) -> Image.Image:
    """The shadow's opacity over the whole canvas (mode L) for a subject with `alpha` at `at`.

    `alpha` is the subject's box only (its bottom row is the subject's base).
    """
    reduction = min(SHADOW_MAX_REDUCTION, max(1.0, spec.blur / 3))
    silhouette, (x, y) = _silhouette(alpha, at, spec)
    # Room beyond the canvas edges, so the blur fades out there instead of piling up.
    margin = math.ceil(3 * spec.blur / reduction) + 2
    small_size = (
        math.ceil(canvas[0] / reduction) + 2 * margin,
        math.ceil(canvas[1] / reduction) + 2 * margin,
    )
    small = Image.new("L", small_size, 0)
    shrunk = silhouette.resize(
        (max(1, round(silhouette.width / reduction)), max(1, round(silhouette.height / reduction))),
        Image.Resampling.BOX,
    )
    small.paste(shrunk, (round(x / reduction) + margin, round(y / reduction) + margin))
    if spec.blur > 0:
        small = small.filter(ImageFilter.GaussianBlur(spec.blur / reduction))
    small = small.point(lambda v: round(v * spec.opacity))
    # resize's box crops the margin and enlarges in one step, aligned to the canvas pixels.
    box = (margin, margin, margin + canvas[0] / reduction, margin + canvas[1] / reduction)
    return small.resize(canvas, Image.Resampling.BILINEAR, box=box)


def over(canvas: Image.Image, layer: Image.Image, at: tuple[int, int] = (0, 0)) -> Image.Image:
    """Composite RGBA `layer` over RGBA `canvas` at `at`, in place, band by band."""
    for top in range(0, layer.height, BAND_ROWS):
        bottom = min(layer.height, top + BAND_ROWS)
        canvas.alpha_composite(layer, (at[0], at[1] + top), (0, top, layer.width, bottom))
    return canvas


def shadow_layer(mask: Image.Image) -> Image.Image:
    """A black RGBA layer whose alpha is `mask`: the shadow kept as a translucent layer."""
    layer = Image.new("RGBA", mask.size, (0, 0, 0, 0))
    layer.putalpha(mask)
    return layer


def darken(canvas: Image.Image, mask: Image.Image) -> Image.Image:
    """Cast the shadow on an opaque canvas, in place: each pixel times (1 - shadow)."""
    canvas.paste((0, 0, 0), (0, 0, *canvas.size), mask)
    return canvas


def _bands(region: tuple[int, int, int, int]) -> list[tuple[int, int, int, int]]:
    """`region` cut into boxes of BAND_ROWS // 4 rows (float32 temporaries of a few MB)."""
    left, top, right, bottom = region
    rows = BAND_ROWS // 4
    return [(left, y, right, min(bottom, y + rows)) for y in range(top, bottom, rows)]


def under_cutout(picture: Image.Image, mask: Image.Image) -> Image.Image:
    """Put a black shadow under an RGBA cut-out, in place, band by band ("over" with straight
    alpha: opaque subject pixels stay exactly as they are). Only the shadow's box is touched."""
    region = mask.getbbox()
    for box in _bands(region) if region else []:
        pixels = np.asarray(picture.crop(box), dtype=np.float32)
        alpha = pixels[..., 3] / 255
        shadow = np.asarray(mask.crop(box), dtype=np.float32) / 255
        out_alpha = alpha + shadow * (1 - alpha)
        weight = np.divide(alpha, out_alpha, out=np.zeros_like(alpha), where=out_alpha > 0)
        pixels[..., :3] *= weight[..., None]
        pixels[..., 3] = out_alpha * 255
        picture.paste(Image.fromarray(np.rint(pixels).astype(np.uint8), "RGBA"), box[:2])
    return picture


def under_colour(
    rgb: Image.Image, alpha: Image.Image, mask: Image.Image, colour: tuple[int, int, int]
) -> Image.Image:
    """The subject over an opaque colour with the shadow cast on it, in place in `rgb`.

    Inside the shadow's box the three layers are blended band by band; everywhere else
    Pillow's in-place paste does the plain "subject over colour".
    """
    region = mask.getbbox()
    background = np.asarray(colour, dtype=np.float32)
    for box in _bands(region) if region else []:
        pixels = np.asarray(rgb.crop(box), dtype=np.float32)
        a = np.asarray(alpha.crop(box), dtype=np.float32)[..., None] / 255
        lit = 1 - np.asarray(mask.crop(box), dtype=np.float32)[..., None] / 255
        out = pixels * a + background * lit * (1 - a)
        rgb.paste(Image.fromarray(np.rint(out).astype(np.uint8), "RGB"), box[:2])
    clear = ImageOps.invert(alpha)
    if region:
        clear.paste(0, region)  # done above
    rgb.paste(colour, (0, 0, *rgb.size), clear)
    return rgb
