"""Edge refinement on synthetic photos: a sharp disc on texture, seen through a blurred mask."""

from __future__ import annotations

import tracemalloc

import cv2
import numpy as np
import pytest
from PIL import Image

from shared.options import ProcessOptions
from shared.settings import Settings
from tests.conftest import encoded
from worker.models.spec import ModelSpec
from worker.pipeline import refine
from worker.pipeline.refine import band_radius, refine_alpha
from worker.pipeline.run import mask_image
from worker.pipeline.timing import StageTimer


def disc_scene(width: int, height: int, seed: int = 1) -> tuple[Image.Image, np.ndarray]:
    """A yellow disc with a hard edge on a dark textured background, and its true alpha."""
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 90, (height // 8 + 1, width // 8 + 1, 3), dtype=np.uint8)
    texture = cv2.resize(small, (width, height), interpolation=cv2.INTER_NEAREST)
    truth = np.zeros((height, width), np.uint8)
    radius = min(width, height) // 3
    cv2.circle(truth, (width // 2, height // 2), radius, 255, -1)
    texture[truth > 0] = (235, 205, 70)
    return Image.fromarray(texture, "RGB"), truth


def model_like_mask(truth: np.ndarray) -> Image.Image:
    """The truth as the pipeline would see it: 320x320, a little blurred, bicubic back up."""
    small = cv2.resize(truth, (320, 320), interpolation=cv2.INTER_AREA)
    small = cv2.GaussianBlur(small, (0, 0), 1.5)
    height, width = truth.shape
    return Image.fromarray(cv2.resize(small, (width, height), interpolation=cv2.INTER_CUBIC), "L")


def near_edge(truth: np.ndarray, distance: int) -> np.ndarray:
    """Pixels within `distance` px of the true edge."""
    inside = cv2.distanceTransform(truth, cv2.DIST_L2, 5)
    outside = cv2.distanceTransform(255 - truth, cv2.DIST_L2, 5)
    return np.maximum(inside, outside) <= distance


def band_mae(alpha: Image.Image, truth: np.ndarray, where: np.ndarray) -> float:
    diff = np.abs(np.asarray(alpha, dtype=np.float32) - truth.astype(np.float32)) / 255
    return float(diff[where].mean())


@pytest.mark.parametrize("size", [(800, 600), (1600, 1200)])
def test_refinement_brings_the_edge_closer_to_the_truth(size: tuple[int, int]) -> None:
    rgb, truth = disc_scene(*size)
    blurred = model_like_mask(truth)
    refined = refine_alpha(rgb, blurred)
    assert refined.mode == "L" and refined.size == rgb.size
    where = near_edge(truth, 2 * band_radius(truth.shape))
    before, after = band_mae(blurred, truth, where), band_mae(refined, truth, where)
    assert after < 0.5 * before, (before, after)


def test_alpha_outside_the_band_is_unchanged() -> None:
    rgb, truth = disc_scene(1200, 900)
    blurred = model_like_mask(truth)
    refined = np.asarray(refine_alpha(rgb, blurred))
    before = np.asarray(blurred)
    # Away from the mask's 0.5 contour by more than the band, and from any soft pixel by more
    # than two working-copy pixels (the band is found there): never touched.
    params = refine.DEFAULT
    cell = max(before.shape) / params.work_side
    reach = (params.band * params.work_side / refine.MODEL_SIDE + 2) * cell
    subject = (before >= 128).astype(np.uint8) * 255
    decided = ((before <= params.soft_low) | (before >= params.soft_high)).astype(np.uint8)
    clear = cv2.distanceTransform(decided, cv2.DIST_L2, 5) > 2 * cell
    far = ~near_edge(subject, int(reach)) & clear
    assert far.mean() > 0.5
    assert np.array_equal(refined[far], before[far])
    assert (refined != before).any()


def test_a_mask_barely_stretched_from_the_model_is_left_alone() -> None:
    rgb, truth = disc_scene(480, 360)  # x1.5 the model's side: nothing to undo
    blurred = model_like_mask(truth)
    assert np.array_equal(np.asarray(refine_alpha(rgb, blurred)), np.asarray(blurred))


def test_an_empty_or_full_mask_comes_back_as_it_was() -> None:
    rgb, _ = disc_scene(900, 700)
    for level in (0, 255):
        alpha = Image.new("L", rgb.size, level)
        assert np.array_equal(np.asarray(refine_alpha(rgb, alpha)), np.asarray(alpha))


def test_mismatched_inputs_are_refused() -> None:
    rgb, _ = disc_scene(300, 200)
    with pytest.raises(ValueError):
        refine_alpha(rgb, Image.new("L", (200, 300)))
    with pytest.raises(ValueError):
        refine_alpha(rgb.convert("L"), Image.new("L", rgb.size))


def test_a_12_mp_image_never_gets_a_full_size_float_copy() -> None:
    rgb, truth = disc_scene(4000, 3000)
    blurred = model_like_mask(truth)
    del truth
    tracemalloc.start()
    try:
        refined = refine_alpha(rgb, blurred)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert refined.size == (4000, 3000)
    # One float32 plane at 12 MP is 48 MB; the uint8 copies (12 MB each) and one tile's
    # temporaries stay well under it. (numpy and OpenCV arrays are traced, Pillow's are not.)
    assert peak < 40_000_000, f"peak {peak / 1e6:.0f} MB"


class DiscModel:
    """A fake model that sees a centred disc whatever the image."""

    spec = ModelSpec("disc", "disc.onnx")
    name = "disc"

    def predict(self, tensor: np.ndarray, *, shrink_arena: bool = False) -> np.ndarray:
        size = tensor.shape[-1]
        yy, xx = np.mgrid[:size, :size]
        return ((yy - size / 2) ** 2 + (xx - size / 2) ** 2 <= (size / 3) ** 2).astype(np.float32)


@pytest.mark.parametrize(
    ("options", "refined"),
    [
        ({"preset": "best"}, True),
        ({"preset": "balanced", "refine_edges": True}, True),
        ({"preset": "balanced"}, False),
        ({"preset": "best", "refine_edges": False}, False),
        ({"preset": "best", "compat": "rembg"}, False),
    ],
)
def test_the_pipeline_refines_when_the_options_ask(options: dict, refined: bool) -> None:
    rgb, _ = disc_scene(800, 600)
    timer = StageTimer()
    masked = mask_image(
        encoded(rgb, "PNG"),
        ProcessOptions(mode="mask", **options),
        settings=Settings(),
        load_model=lambda name: DiscModel(),
        timer=timer,
    )
    assert ("refine" in timer.milliseconds) is refined
    assert masked.alpha.size == rgb.size
