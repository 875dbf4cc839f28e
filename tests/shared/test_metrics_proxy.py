"""Ground-truth-free proxies on synthetic alpha mattes."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from shared.metrics.proxy import MIN_COMPONENT_FRACTION, compute_proxy_metrics


def disk(h: int, w: int, r: float) -> np.ndarray:
    yy, xx = np.mgrid[:h, :w]
    inside = (yy - h // 2) ** 2 + (xx - w // 2) ** 2 < r * r
    return np.where(inside, np.uint8(255), np.uint8(0))


def test_centred_disk_needs_no_review() -> None:
    m = compute_proxy_metrics(disk(400, 600, 100))
    assert m.components == 1
    assert not m.needs_review
    assert m.review_reasons == ()
    assert m.touches_border == ()
    assert m.bbox == (201, 101, 199, 199)
    assert m.foreground_fraction == pytest.approx(np.pi * 100**2 / (400 * 600), rel=0.01)
    assert m.mean_confidence == 1.0  # only 0 and 255
    assert m.uncertain_fraction == 0.0
    assert m.boundary_sharpness == 1.0  # a hard edge


def test_soft_edges_are_less_sharp() -> None:
    yy, xx = np.mgrid[:100, :200]
    ramp = np.clip((xx - 95) * 25.5, 0, 255).astype(np.uint8)  # 0 -> 255 over 10 px
    m = compute_proxy_metrics(ramp)
    assert m.boundary_sharpness == pytest.approx(0.1, abs=0.01)
    assert 0 < m.uncertain_fraction < 0.1


def test_empty_mask() -> None:
    m = compute_proxy_metrics(np.zeros((300, 400), np.uint8))
    assert m.needs_review
    assert "empty_mask" in m.review_reasons
    assert m.bbox is None
    assert m.components == 0
    assert m.touches_border == ()
    assert m.boundary_sharpness is None


def test_full_mask() -> None:
    m = compute_proxy_metrics(np.full((300, 400), 255, np.uint8))
    assert "mask_covers_almost_everything" in m.review_reasons
    assert m.bbox == (0, 0, 400, 300)
    assert m.touches_border == ("top", "bottom", "left", "right")


def test_pixel_noise_has_low_confidence() -> None:
    noise = np.random.default_rng(0).integers(0, 256, (400, 600), dtype=np.uint8)
    m = compute_proxy_metrics(noise)
    assert m.mean_confidence == pytest.approx(0.5, abs=0.02)
    assert m.uncertain_fraction == pytest.approx(0.8, abs=0.02)  # 0.1 < a < 0.9
    assert {"low_confidence", "large_uncertain_area"} <= set(m.review_reasons)


def test_blotchy_noise_has_many_components() -> None:
    coarse = np.random.default_rng(0).integers(0, 256, (12, 18), dtype=np.uint8)
    blotches = cv2.resize(coarse, (600, 400), interpolation=cv2.INTER_CUBIC)
    m = compute_proxy_metrics(blotches)
    assert m.components > 4
    assert {"low_confidence", "many_components"} <= set(m.review_reasons)


def test_specks_are_not_components() -> None:
    alpha = np.zeros((400, 600), np.uint8)
    for i in range(8):
        alpha[20 : 20 + 20, 30 + 70 * i : 50 + 70 * i] = 255  # 400 px = 0.17% each
        alpha[300:302, 30 + 70 * i : 32 + 70 * i] = 255  # 4 px specks
    assert 400 >= MIN_COMPONENT_FRACTION * alpha.size > 4
    m = compute_proxy_metrics(alpha)
    assert m.components == 8
    assert "many_components" in m.review_reasons


def test_subject_touching_the_top_is_cut_off() -> None:
    alpha = np.zeros((300, 400), np.uint8)
    alpha[:150, 100:300] = 255
    m = compute_proxy_metrics(alpha)
    assert m.touches_border == ("top",)
    assert m.review_reasons == ("subject_cut_off",)


def test_subject_standing_on_the_bottom_is_fine() -> None:
    alpha = np.zeros((300, 400), np.uint8)
    alpha[100:, 100:300] = 255
    m = compute_proxy_metrics(alpha)
    assert m.touches_border == ("bottom",)
    assert not m.needs_review


def test_bbox_is_in_full_resolution_coordinates() -> None:
    alpha = np.zeros((4000, 6000), np.uint8)
    alpha[567 : 567 + 1890, 1234 : 1234 + 2345] = 255
    alpha[567 + 1889, 1234 + 2344] = 128  # the corner pixel still counts (>= 128)
    m = compute_proxy_metrics(alpha)
    assert m.bbox == (1234, 567, 2345, 1890)
    assert m.foreground_fraction == pytest.approx(2345 * 1890 / alpha.size, abs=2e-3)
    assert m.components == 1
    assert not m.needs_review


def test_to_dict_is_json_ready() -> None:
    alpha = np.zeros((300, 400), np.uint8)
    alpha[:150, 100:300] = 255
    d = json.loads(json.dumps(compute_proxy_metrics(alpha).to_dict()))
    assert d["bbox"] == [100, 0, 200, 150]
    assert d["touches_border"] == ["top"]
    assert d["review_reasons"] == ["subject_cut_off"]
    assert d["needs_review"] is True
    empty = compute_proxy_metrics(np.zeros((10, 10), np.uint8)).to_dict()
    assert empty["bbox"] is None and empty["boundary_sharpness"] is None


@pytest.mark.parametrize(
    "alpha",
    [np.zeros((4, 4), np.float32), np.zeros((4, 4, 4), np.uint8), np.zeros((0, 4), np.uint8)],
)
def test_rejects_bad_input(alpha: np.ndarray) -> None:
    with pytest.raises(ValueError):
        compute_proxy_metrics(alpha)
