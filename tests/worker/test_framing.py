"""Framing geometry: canvas size, padding, fill ratio, alignment, nothing cut off."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from shared.options import ProcessOptions
from worker.pipeline.compose import compose
from worker.pipeline.framing import SUBJECT_LEVEL, Box, layout, subject_bbox


def _scene(
    size: tuple[int, int] = (300, 200), box: tuple[int, int, int, int] = (40, 30, 140, 170)
) -> tuple[Image.Image, Image.Image]:
    """A grey photo with an opaque red subject in `box` and a faint soft rim around it."""
    width, height = size
    rgb = np.full((height, width, 3), 90, np.uint8)
    alpha = np.zeros((height, width), np.uint8)
    left, top, right, bottom = box
    alpha[top - 2 : bottom + 2, left - 2 : right + 2] = 20  # soft edge: still subject
    alpha[top:bottom, left:right] = 255
    rgb[top:bottom, left:right] = (200, 20, 30)
    return Image.fromarray(rgb), Image.fromarray(alpha)


def _frame(**options: object):  # noqa: ANN202 - a Composed
    rgb, alpha = _scene()
    return compose(rgb, alpha, ProcessOptions.parse(options))


def _opaque_box(picture: Image.Image) -> tuple[int, int, int, int]:
    alpha = np.asarray(picture.getchannel("A"))
    rows, cols = np.nonzero(alpha > SUBJECT_LEVEL)
    return cols.min(), rows.min(), cols.max() + 1, rows.max() + 1


def test_subject_box_includes_soft_edges_but_not_noise() -> None:
    _, alpha = _scene()
    pixels = np.array(alpha)
    pixels[0, 0] = SUBJECT_LEVEL  # background noise at the threshold does not count
    assert subject_bbox(Image.fromarray(pixels)) == Box(38, 28, 104, 144)


@pytest.mark.parametrize("canvas", ["500x500", "640x480", "120x900", "1x1"])
def test_canvas_size_is_exact_and_nothing_is_cut_off(canvas: str) -> None:
    composed = _frame(canvas=canvas)
    width, height = (int(side) for side in canvas.split("x"))
    assert composed.picture.size == (width, height)
    fg = composed.foreground
    assert fg is not None and fg.left >= 0 and fg.top >= 0
    assert fg.left + fg.width <= width and fg.top + fg.height <= height
    # The whole subject (its soft rim included) is inside the foreground box: not cropped.
    left, top, right, bottom = _opaque_box(composed.picture)
    assert (left, top) >= (fg.left, fg.top) and (right, bottom) <= fg.corners[2:]


def test_subject_fills_the_room_the_padding_leaves() -> None:
    composed = _frame(canvas="1000x1000", padding="10%")
    fg = composed.foreground
    assert fg is not None
    # 104x144 subject, room 800x800: its height fills it, its width keeps the aspect ratio.
    assert fg.height == 800 and fg.width == round(104 * 800 / 144)
    assert fg.top == 100 and fg.left == (1000 - fg.width) // 2
    assert _opaque_box(composed.picture)[1] >= 100  # inside the padding


def test_scale_is_the_fill_ratio() -> None:
    by_scale = _frame(canvas="1000x1000", scale="80%").foreground
    by_padding = _frame(canvas="1000x1000", padding=0.1).foreground
    assert by_scale == by_padding


@pytest.mark.parametrize(
    ("vertical", "horizontal", "expected"),
    [
        ("bottom", "center", ("center", 1000 - 100)),
        ("top", "left", (100, 100)),
        ("center", "right", (1000 - 100, "center")),
    ],
)
def test_alignment(vertical: str, horizontal: str, expected: tuple) -> None:
    fg = _frame(
        canvas="1000x1000",
        padding=0.1,
        vertical_alignment=vertical,
        horizontal_alignment=horizontal,
    ).foreground
    assert fg is not None
    if vertical == "bottom":
        assert fg.top + fg.height == expected[1]
        assert abs(fg.left + fg.width / 2 - 500) <= 1
    elif vertical == "top":
        assert (fg.left, fg.top) == expected
    else:
        assert fg.left + fg.width == expected[0] and abs(fg.top + fg.height / 2 - 500) <= 1


def test_without_a_canvas_the_subject_keeps_its_size_and_is_moved() -> None:
    fg = _frame(horizontal_alignment="right").foreground
    assert fg == Box(300 - 104, (200 - 144) // 2, 104, 144)


def test_colour_background_fills_the_canvas_around_the_subject() -> None:
    composed = _frame(canvas="400x400", padding=0.1, mode="color", bg_color="#ffffff")
    picture = np.asarray(composed.picture)
    assert composed.picture.mode == "RGB" and tuple(picture[5, 5]) == (255, 255, 255)
    fg = composed.foreground
    assert fg is not None
    centre = picture[fg.top + fg.height // 2, fg.left + fg.width // 2]
    assert np.abs(centre.astype(int) - (200, 20, 30)).max() <= 2


def test_image_background_is_fitted_to_the_canvas() -> None:
    rgb, alpha = _scene()
    background = Image.new("RGB", (50, 80), (0, 0, 255))
    options = ProcessOptions.parse({"mode": "image", "canvas": "600x300"})
    picture = compose(rgb, alpha, options, background).picture
    assert picture.size == (600, 300) and picture.getpixel((0, 0)) == (0, 0, 255)


def test_mask_mode_frames_the_mask() -> None:
    composed = _frame(canvas="200x200", mode="mask")
    assert composed.picture.mode == "L" and composed.picture.size == (200, 200)
    assert composed.picture.getpixel((100, 100)) == 255 and composed.picture.getpixel((0, 0)) == 0


def test_an_empty_mask_gives_the_empty_canvas_and_a_warning() -> None:
    rgb = Image.new("RGB", (60, 40), (9, 9, 9))
    composed = compose(rgb, Image.new("L", (60, 40)), ProcessOptions.parse({"canvas": "100x50"}))
    assert composed.picture.size == (100, 50) and composed.foreground is None
    assert composed.picture.getextrema()[3] == (0, 0)  # fully transparent
    assert composed.warnings and composed.warnings[0].startswith("no_subject")


def test_a_tiny_subject_is_enlarged_to_fit_with_a_warning() -> None:
    rgb, alpha = _scene(box=(50, 50, 53, 52))
    composed = compose(rgb, alpha, ProcessOptions.parse({"canvas": "500x500"}))
    fg = composed.foreground
    assert fg is not None and fg.width == 500 and fg.height <= 500
    assert any(warning.startswith("upscaled") for warning in composed.warnings)


def test_max_size_shrinks_the_canvas_and_the_foreground_box() -> None:
    composed = _frame(canvas="1000x500", padding=0.1, max_size=500)
    assert composed.picture.size == (500, 250)
    fg = composed.foreground
    assert fg is not None and fg.top == 25 and fg.height == 200


def test_foreground_box_without_framing_is_the_subject_in_the_output() -> None:
    assert _frame().foreground == Box(38, 28, 104, 144)
    cropped = _frame(crop=True, crop_margin=0)
    assert cropped.picture.size == (100, 140) and cropped.foreground == Box(0, 0, 100, 140)


def test_layout_never_exceeds_the_canvas() -> None:
    options = ProcessOptions.parse({"canvas": "7x3", "padding": 0.49})
    box = layout(Box(0, 0, 1000, 10), (1000, 10), options)
    assert box.width >= 1 and box.height >= 1
    assert box.left + box.width <= 7 and box.top + box.height <= 3


@pytest.mark.parametrize("mode", ["cutout", "color"])
def test_moving_the_subject_leaves_nothing_of_the_photo_behind(mode: str) -> None:
    composed = _frame(horizontal_alignment="right", mode=mode, bg_color="#00ff00")
    picture = composed.picture
    assert picture.size == (300, 200)
    # Where the subject was (x 40..140) is now background; it sits on the right.
    expected = (0, 0, 0, 0) if mode == "cutout" else (0, 255, 0)
    assert picture.getpixel((90, 100)) == expected and picture.getpixel((5, 5)) == expected
    assert picture.getpixel((250, 100))[:3] == (200, 20, 30)
