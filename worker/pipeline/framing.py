"""Place the subject on a canvas: found from the mask, scaled to fit, aligned, never cut off.

The subject is the bounding box of every pixel more than SUBJECT_LEVEL opaque, so soft hair
and shadows the model kept count too. It is scaled (down or up) to fit the room the padding
or scale leaves, then aligned in it. Only the subject's box is ever copied: a 25 MP input
framed on a 2000x2000 canvas never makes a second full-size picture.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from PIL import Image

from shared.options import ProcessOptions
from worker.pipeline.foreground import REACH, estimate_foreground

# Alpha above this (of 255) counts as subject: low enough that soft edges are never cut off,
# high enough that the faint noise a model leaves in the background does not.
SUBJECT_LEVEL = 8
# A subject scaled up more than this gets a warning: it will look soft.
UPSCALE_WARNING = 4.0


@dataclass(frozen=True)
class Box:
    """A rectangle in pixels: left, top, width, height."""

    left: int
    top: int
    width: int
    height: int

    @property
    def corners(self) -> tuple[int, int, int, int]:
        """(left, top, right, bottom), as Pillow's crop and getbbox use."""
        return self.left, self.top, self.left + self.width, self.top + self.height

    @classmethod
    def from_corners(cls, corners: tuple[int, int, int, int]) -> Box:
        left, top, right, bottom = corners
        return cls(left, top, right - left, bottom - top)

    def resized(self, before: tuple[int, int], after: tuple[int, int]) -> Box:
        """The box in the picture once resized from `before` to `after` (still covering it)."""
        if before == after:
            return self
        fx, fy = after[0] / before[0], after[1] / before[1]
        left, top = math.floor(self.left * fx), math.floor(self.top * fy)
        right = min(after[0], math.ceil((self.left + self.width) * fx))
        bottom = min(after[1], math.ceil((self.top + self.height) * fy))
        return Box(left, top, max(1, right - left), max(1, bottom - top))

    def to_dict(self) -> dict[str, int]:
        return {"left": self.left, "top": self.top, "width": self.width, "height": self.height}


@dataclass
class Placed:
    """The subject as an RGBA layer, where it goes, and the canvas it goes on."""

    layer: Image.Image | None  # None: no subject was found
    at: tuple[int, int]
    canvas: tuple[int, int]
    warnings: list[str]
    subject: Box | None  # where the subject's box lands on the canvas


def subject_bbox(alpha: Image.Image, level: int = SUBJECT_LEVEL) -> Box | None:
    """The bounding box of the pixels with alpha above `level`; None when there are none."""
    corners = alpha.point(lambda v: 255 if v > level else 0).getbbox()
    return None if corners is None else Box.from_corners(corners)


def _room(canvas: tuple[int, int], options: ProcessOptions) -> tuple[float, float, int, int]:
    """The room the subject may fill (width, height) and the padding (x, y) around it."""
    width, height = canvas
    if options.scale is not None:
        room_w, room_h = width * options.scale, height * options.scale
        return room_w, room_h, round((width - room_w) / 2), round((height - room_h) / 2)
    padding = options.padding or 0.0
    pad_x, pad_y = round(width * padding), round(height * padding)
    return width - 2 * pad_x, height - 2 * pad_y, pad_x, pad_y


def _offset(free: int, pad: int, where: str | None) -> int:
    """Where a side of `free` spare pixels starts, for left/top, center or right/bottom."""
    if where in ("left", "top"):
        return min(pad, free)
    if where in ("right", "bottom"):
        return max(0, free - pad)
    return free // 2


def layout(subject: Box, image_size: tuple[int, int], options: ProcessOptions) -> Box:
    """Where the subject's box goes on the canvas (the canvas size from the options)."""
    canvas = options.canvas or image_size
    keep_size = options.canvas is None and options.padding is None and options.scale is None
    room_w, room_h, pad_x, pad_y = _room(canvas, options)
    if keep_size:
        factor = 1.0
    else:
        factor = min(max(room_w, 1) / subject.width, max(room_h, 1) / subject.height)
    width = min(canvas[0], max(1, round(subject.width * factor)))
    height = min(canvas[1], max(1, round(subject.height * factor)))
    left = _offset(canvas[0] - width, pad_x, options.horizontal_alignment)
    top = _offset(canvas[1] - height, pad_y, options.vertical_alignment)
    return Box(left, top, width, height)


def _subject_layer(
    rgb: Image.Image, alpha: Image.Image, subject: Box, clean_colors: bool
) -> Image.Image:
    """The subject's box cut out as straight RGBA (colours cleaned at soft edges if asked)."""
    if not clean_colors:
        layer = rgb.crop(subject.corners)
        layer.putalpha(alpha.crop(subject.corners))
        return layer
    # Cleaning looks REACH pixels around each soft pixel: give it that context, then trim.
    left, top, right, bottom = subject.corners
    context = (
        max(0, left - REACH),
        max(0, top - REACH),
        min(rgb.width, right + REACH),
        min(rgb.height, bottom + REACH),
    )
    cleaned = estimate_foreground(rgb.crop(context), alpha.crop(context))
    inner = (left - context[0], top - context[1], right - context[0], bottom - context[1])
    layer = cleaned.crop(inner)
    layer.putalpha(alpha.crop(subject.corners))
    return layer


def place_subject(
    rgb: Image.Image, alpha: Image.Image, options: ProcessOptions, *, clean_colors: bool
) -> Placed:
    """The subject cut from `rgb`/`alpha`, scaled and positioned as the options say."""
    canvas = options.canvas or rgb.size
    subject = subject_bbox(alpha)
    if subject is None:
        return Placed(
            None, (0, 0), canvas, ["no_subject: no subject found; the canvas is empty"], None
        )
    target = layout(subject, rgb.size, options)
    layer = _subject_layer(rgb, alpha, subject, clean_colors)
    warnings = []
    if target.width > UPSCALE_WARNING * subject.width:
        warnings.append(
            f"upscaled: the subject ({subject.width}x{subject.height} px) was enlarged "
            f"{target.width / subject.width:.1f}x to fill the canvas"
        )
    if (target.width, target.height) != layer.size:
        # Pillow resizes RGBA premultiplied: no dark or old-background fringe at the edges.
        layer = layer.resize((target.width, target.height), Image.Resampling.LANCZOS)
    return Placed(layer, (target.left, target.top), canvas, warnings, target)
