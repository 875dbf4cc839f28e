"""The shadow: where it falls, that it stays under the subject, and that it leaves the
subject's own pixels as they were."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from shared.options import ProcessOptions
from worker.pipeline.compose import compose
from worker.pipeline.framing import Box
from worker.pipeline.shadow import shadow_mask, shadow_spec


def _scene() -> tuple[Image.Image, Image.Image]:
    """A 200x200 photo: an opaque textured square (60..140) with a half-transparent rim."""
    rng = np.random.default_rng(1)
    rgb = rng.integers(0, 256, (200, 200, 3), dtype=np.uint8)
    alpha = np.zeros((200, 200), np.uint8)
    alpha[58:142, 58:142] = 128
    alpha[60:140, 60:140] = 255
    return Image.fromarray(rgb), Image.fromarray(alpha)


def _centroid(weights: np.ndarray) -> tuple[float, float]:
    rows, cols = np.indices(weights.shape)
    total = weights.sum()
    return (cols * weights).sum() / total, (rows * weights).sum() / total


def test_drop_shadow_falls_in_the_offset_direction() -> None:
    alpha = Image.new("L", (40, 40), 255)
    spec = shadow_spec(
        ProcessOptions.parse({"shadow": "drop", "shadow_offset": "15,-10", "shadow_blur": 4}),
        Box(80, 80, 40, 40),
    )
    mask = np.asarray(shadow_mask(alpha, (80, 80), (200, 200), spec), dtype=np.float64)
    x, y = _centroid(mask)
    assert x == pytest.approx(100 + 15, abs=1.5) and y == pytest.approx(100 - 10, abs=1.5)
    assert mask.max() <= 255 * spec.opacity + 1


def test_contact_shadow_sits_at_the_subject_base() -> None:
    alpha = Image.new("L", (40, 100), 255)
    spec = shadow_spec(ProcessOptions.parse({"shadow": "contact"}), Box(80, 50, 40, 100))
    mask = np.asarray(shadow_mask(alpha, (80, 50), (200, 200), spec), dtype=np.float64)
    x, y = _centroid(mask)
    assert x == pytest.approx(100, abs=1) and y == pytest.approx(150, abs=6)
    assert mask[:100].sum() < 0.01 * mask.sum()  # nothing at the subject's top half


def test_blur_is_bounded_work_at_large_sizes() -> None:
    # A 6000x4000 canvas: the blur runs on a reduced copy, the result is one 8-bit image.
    alpha = Image.new("L", (3000, 2000), 255)
    spec = shadow_spec(ProcessOptions.parse({"shadow": "drop"}), Box(1500, 1000, 3000, 2000))
    mask = shadow_mask(alpha, (1500, 1000), (6000, 4000), spec)
    assert mask.mode == "L" and mask.size == (6000, 4000)
    assert mask.getpixel((3000, 2000)) == round(255 * spec.opacity)


@pytest.mark.parametrize(
    "options",
    [
        {"shadow": "drop", "mode": "color", "bg_color": "#ffffff"},
        # Framed (moved to the centre, where it already is): the layered path, same pixels.
        {"shadow": "contact", "mode": "color", "bg_color": "#fff", "vertical_alignment": "center"},
        {"shadow": "drop", "shadow_opacity": 1, "shadow_blur": 0},
        {"shadow": "drop", "mode": "color", "bg_color": "#ffffff80"},
        {"shadow": "drop", "mode": "image"},
    ],
)
def test_the_subject_keeps_its_own_pixels(options: dict) -> None:
    rgb, alpha = _scene()
    original = np.array(rgb)
    background = Image.new("RGB", (30, 30), (0, 90, 0))
    composed = compose(rgb, alpha, ProcessOptions.parse(options), background)
    picture = np.asarray(composed.picture)
    inside = original[60:140, 60:140]
    assert np.array_equal(picture[60:140, 60:140, :3], inside)
    if picture.shape[2] == 4:
        assert (picture[60:140, 60:140, 3] == 255).all()


def test_shadow_darkens_an_opaque_background_only_beside_the_subject() -> None:
    rgb, alpha = _scene()
    options = {"shadow": "drop", "shadow_offset": "20,20", "shadow_blur": 2}
    options |= {"shadow_opacity": 0.5, "mode": "color", "bg_color": "#ffffff"}
    picture = np.asarray(compose(rgb, alpha, ProcessOptions.parse(options)).picture)
    assert tuple(picture[150, 150]) == pytest.approx((127, 127, 127), abs=2)  # shadow
    assert tuple(picture[10, 10]) == (255, 255, 255)  # away from it
    assert tuple(picture[50, 170]) == (255, 255, 255)  # opposite the offset


def test_transparent_output_keeps_the_shadow_as_a_translucent_black_layer() -> None:
    rgb, alpha = _scene()
    options = {"shadow": "drop", "shadow_offset": "20,20", "shadow_blur": 2}
    options |= {"shadow_opacity": 0.4}
    picture = np.asarray(compose(rgb, alpha, ProcessOptions.parse(options)).picture)
    assert picture.shape[2] == 4
    assert tuple(picture[150, 150]) == pytest.approx((0, 0, 0, 102), abs=2)
    assert tuple(picture[10, 10]) == (0, 0, 0, 0)
    # The half-transparent rim lies over the shadow on one side: more opaque there.
    assert picture[141, 100, 3] > 128 and picture[59, 100, 3] == 128


def test_add_shadow_maps_to_the_default_drop_shadow() -> None:
    options = ProcessOptions.parse({"add_shadow": "true"})
    assert options.shadow == "drop" and "add_shadow" not in options.model_dump()
    assert ProcessOptions.parse({"add_shadow": "false"}).shadow == "none"
    explicit = ProcessOptions.parse({"add_shadow": "true", "shadow": "contact"})
    assert explicit.shadow == "contact"
