"""Turn the image and its full-resolution mask into the requested output picture.

Everything here works on 8-bit Pillow images and in place where Pillow allows, so a 25 MP
input never grows float copies: the RGB image (75 MB) is reused as the output when it can be.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from PIL import Image, ImageChops, ImageOps

from shared.errors import InvalidOption
from shared.options import RGBA, ProcessOptions
from worker.pipeline.foreground import estimate_foreground
from worker.pipeline.framing import Box, Placed, place_subject, subject_bbox
from worker.pipeline.shadow import (
    darken,
    over,
    shadow_layer,
    shadow_mask,
    shadow_spec,
    under_colour,
    under_cutout,
)

# A pixel counts as subject for `crop` from half opacity up: the same cut as the metrics
# (crop_margin leaves room for the soft edge). Framing and the foreground box use the low
# threshold of worker/pipeline/framing.py instead: nothing of the subject may be cut off.
SUBJECT_LEVEL = 128


def combine_alpha(mask: Image.Image, input_alpha: Image.Image | None) -> Image.Image:
    """The output alpha: the mask, and transparent wherever the input already was."""
    return mask if input_alpha is None else ImageChops.multiply(mask, input_alpha)


def subject_box(alpha: Image.Image, margin: float) -> tuple[int, int, int, int] | None:
    """The subject's bounding box grown by `margin` x its larger side, clamped to the image."""
    box = alpha.point(lambda v: 255 if v >= SUBJECT_LEVEL else 0).getbbox()
    if box is None:
        return None
    left, top, right, bottom = box
    pad = round(margin * max(right - left, bottom - top))
    width, height = alpha.size
    return (
        max(0, left - pad),
        max(0, top - pad),
        min(width, right + pad),
        min(height, bottom + pad),
    )


def cutout(rgb: Image.Image, alpha: Image.Image) -> Image.Image:
    """RGBA with straight alpha: colours untouched (no dark fringe), black where fully clear.

    Zeroing fully transparent pixels keeps files small and does not leak the old background.
    """
    # A 1-bit mask: Pillow copies through it without the blending an 8-bit mask costs
    # (0.6 against 5.8 ms at 1024 px).
    fully_clear = alpha.point(lambda v: 255 if v == 0 else 0, "1")
    rgb.paste((0, 0, 0), (0, 0, *rgb.size), fully_clear)
    rgb.putalpha(alpha)
    return rgb


def on_color(rgb: Image.Image, alpha: Image.Image, color: RGBA) -> Image.Image:
    """The subject over a solid colour; RGBA when the colour itself is translucent."""
    if color[3] == 255:
        # paste() with a mask blends in place: no second full-size image.
        rgb.paste(color[:3], (0, 0, *rgb.size), ImageOps.invert(alpha))
        return rgb
    background = Image.new("RGBA", rgb.size, color)
    return Image.alpha_composite(background, cutout(rgb, alpha))


def on_image(rgb: Image.Image, alpha: Image.Image, background: Image.Image) -> Image.Image:
    """The subject over another picture, scaled and centre-cropped to cover the frame."""
    canvas = ImageOps.fit(background.convert("RGB"), rgb.size, Image.Resampling.LANCZOS)
    canvas.paste(rgb, (0, 0), alpha)
    return canvas


def limit_size(image: Image.Image, max_size: int | None) -> Image.Image:
    """Shrink so the longer side is at most `max_size` (Pillow resizes RGBA premultiplied)."""
    if max_size is None or max(image.size) <= max_size:
        return image
    image.thumbnail((max_size, max_size), Image.Resampling.LANCZOS, reducing_gap=3.0)
    return image


@dataclass
class Composed:
    """The output picture, where the subject's box is in it, and what to warn about."""

    picture: Image.Image
    foreground: Box | None
    warnings: list[str] = field(default_factory=list)


def _flat(
    rgb: Image.Image, alpha: Image.Image, options: ProcessOptions, background: Image.Image | None
) -> Composed:
    """No canvas, no shadow: the mode's picture at the image's own size, in place."""
    if options.clean_colors and options.mode != "mask":
        # After the crop: only the kept pixels are worth cleaning.
        rgb = estimate_foreground(rgb, alpha)
    foreground = subject_bbox(alpha)
    if options.mode == "mask":
        picture = alpha
    elif options.mode == "cutout":
        picture = cutout(rgb, alpha)
    elif options.mode == "color":
        assert options.bg_color is not None  # noqa: S101 - ProcessOptions guarantees it
        picture = on_color(rgb, alpha, options.bg_color)
    else:
        assert background is not None  # noqa: S101 - compose checked it
        picture = on_image(rgb, alpha, background)
    return Composed(picture, foreground)


def _shadow_in_place(
    rgb: Image.Image, alpha: Image.Image, options: ProcessOptions, background: Image.Image | None
) -> Composed:
    """No canvas but a shadow: cast under the subject where it stands, with no second
    full-size RGBA picture (a 25 MP job stays inside a 512 MB worker)."""
    subject = subject_bbox(alpha)
    if subject is None:
        return _flat(rgb, alpha, options, background)
    if options.clean_colors:
        rgb = estimate_foreground(rgb, alpha)
    spec = shadow_spec(options, subject)
    mask = shadow_mask(alpha.crop(subject.corners), (subject.left, subject.top), rgb.size, spec)
    color = options.bg_color
    if options.mode == "cutout":
        picture = under_cutout(cutout(rgb, alpha), mask)
    elif options.mode == "color" and color is not None and color[3] == 255:
        picture = under_colour(rgb, alpha, mask, color[:3])
    elif options.mode == "image":
        assert background is not None  # noqa: S101 - compose checked it
        fitted = ImageOps.fit(background.convert("RGB"), rgb.size, Image.Resampling.LANCZOS)
        picture = darken(fitted, mask)
        picture.paste(rgb, (0, 0), alpha)
    else:
        picture = over(Image.new("RGBA", rgb.size, color), shadow_layer(mask))
        over(picture, cutout(rgb, alpha))
    return Composed(picture, subject)


def _canvas(
    placed: Placed,
    options: ProcessOptions,
    background: Image.Image | None,
    rgb: Image.Image,
    shadow: Image.Image | None,
) -> Image.Image:
    """The canvas the mode asks for (transparent, a colour, a picture or black), with the
    shadow cast on it. A canvas the photo's size reuses `rgb`, whose subject is already
    in its layer: a 25 MP photo framed in place holds one full-size picture, not two."""
    reuse = placed.canvas == rgb.size
    if options.mode == "mask":
        return Image.new("L", placed.canvas, 0)
    if options.mode == "image":
        assert background is not None  # noqa: S101 - compose checked it
        canvas = ImageOps.fit(background.convert("RGB"), placed.canvas, Image.Resampling.LANCZOS)
        return canvas if shadow is None else darken(canvas, shadow)
    color = options.bg_color if options.mode == "color" else None
    if color is not None and color[3] == 255:
        if reuse:
            rgb.paste(color[:3], (0, 0, *rgb.size))
        canvas = rgb if reuse else Image.new("RGB", placed.canvas, color[:3])
        return canvas if shadow is None else darken(canvas, shadow)
    if color is None and shadow is not None:
        # The shadow layer is the canvas: no second full-size transparent picture.
        return _filled(rgb, (0, 0, 0), shadow) if reuse else shadow_layer(shadow)
    fill = color or (0, 0, 0, 0)
    canvas = _filled(rgb, fill[:3], fill[3]) if reuse else Image.new("RGBA", placed.canvas, fill)
    return canvas if shadow is None else over(canvas, shadow_layer(shadow))


def _filled(rgb: Image.Image, colour: tuple[int, ...], alpha: Image.Image | int) -> Image.Image:
    """`rgb` itself, painted one colour with the given alpha (it becomes RGBA)."""
    rgb.paste(colour, (0, 0, *rgb.size))
    rgb.putalpha(alpha)
    return rgb


def _shadow_of(placed: Placed, options: ProcessOptions) -> Image.Image | None:
    """The shadow's opacity over the canvas, for the placed subject (None: no shadow)."""
    if options.shadow == "none" or placed.layer is None or placed.subject is None:
        return None
    subject, (x, y) = placed.subject, placed.at
    own = placed.layer.getchannel("A").crop(
        (
            subject.left - x,
            subject.top - y,
            subject.left - x + subject.width,
            subject.top - y + subject.height,
        )
    )
    spec = shadow_spec(options, subject)
    return shadow_mask(own, (subject.left, subject.top), placed.canvas, spec)


def _layered(
    rgb: Image.Image, alpha: Image.Image, options: ProcessOptions, background: Image.Image | None
) -> Composed:
    """A canvas, the shadow cast from the subject's alpha on it, the subject over both."""
    clean = bool(options.clean_colors) and options.mode != "mask"
    placed = place_subject(rgb, alpha, options, clean_colors=clean)
    canvas = _canvas(placed, options, background, rgb, _shadow_of(placed, options))
    if placed.layer is None or placed.subject is None:
        return Composed(canvas, None, placed.warnings)
    if options.mode == "mask":
        canvas.paste(placed.layer.getchannel("A"), placed.at)
        return Composed(canvas, placed.subject, placed.warnings)
    if canvas.mode == "RGB":
        canvas.paste(placed.layer, placed.at, placed.layer)
    else:
        over(canvas, placed.layer, placed.at)
    return Composed(canvas, placed.subject, placed.warnings)


def compose(
    rgb: Image.Image,
    alpha: Image.Image,
    options: ProcessOptions,
    background: Image.Image | None = None,
) -> Composed:
    """The output picture for the options, with the subject's box in it; `rgb` may be
    consumed (modified in place)."""
    if options.mode == "image" and background is None:
        raise InvalidOption("mode=image needs a background image")
    if options.crop and (box := subject_box(alpha, options.crop_margin)) is not None:
        rgb, alpha = rgb.crop(box), alpha.crop(box)
    if options.framed:
        composed = _layered(rgb, alpha, options, background)
    elif options.shadow != "none":
        composed = _shadow_in_place(rgb, alpha, options, background)
    else:
        composed = _flat(rgb, alpha, options, background)
    before = composed.picture.size
    composed.picture = limit_size(composed.picture, options.max_size)
    if composed.foreground is not None:
        composed.foreground = composed.foreground.resized(before, composed.picture.size)
    return composed


def render(
    rgb: Image.Image,
    alpha: Image.Image,
    options: ProcessOptions,
    background: Image.Image | None = None,
) -> Image.Image:
    """The output picture for `options.mode`; `rgb` may be consumed (modified in place)."""
    return compose(rgb, alpha, options, background).picture
