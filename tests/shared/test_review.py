"""The review score: the model maps' signals, the shipped coefficients, flags and reasons."""

from __future__ import annotations

import numpy as np
import pytest

from shared.metrics.proxy import compute_proxy_metrics
from shared.metrics.review import (
    REASON_FEATURES,
    ReviewModel,
    assess,
    model_signals,
    review_features,
    shipped_model,
)


def disc(size: int = 64, radius: float = 16, centre: tuple[int, int] = (32, 32)) -> np.ndarray:
    yy, xx = np.mgrid[:size, :size]
    return (((yy - centre[0]) ** 2 + (xx - centre[1]) ** 2) <= radius**2).astype(np.float32)


def test_stage_maps_that_agree_read_as_certain() -> None:
    maps = np.stack([disc()] * 7)
    signals = model_signals(maps)
    assert signals["side_mae"] == 0 and signals["side_split"] == 0
    assert signals["side_iou_min"] == signals["side_iou_mean"] == 1
    assert signals["raw_max"] == 1 and signals["raw_fg_fraction"] == pytest.approx(disc().mean())


def test_stage_maps_that_disagree_read_as_uncertain() -> None:
    moved = [disc(centre=(32, 32 + shift)) for shift in range(0, 14, 2)]
    signals = model_signals(np.stack(moved))
    assert signals["side_mae"] > 0.05 and signals["side_split"] > 0.5
    assert signals["side_iou_min"] < signals["side_iou_mean"] < 1


def test_a_single_map_has_no_disagreement() -> None:
    signals = model_signals(disc()[None] * 0.3)
    assert signals["raw_max"] == pytest.approx(0.3) and signals["raw_fg_fraction"] == 0
    assert signals["side_mae"] == 0 and signals["side_iou_min"] == 1


def _toy_model(threshold: float = 0.5) -> ReviewModel:
    """Needs review as the stage maps disagree (side_mae), nothing else counts."""
    names = tuple(name for group in REASON_FEATURES.values() for name in group)
    weights = np.array([4.0 if name == "side_mae" else 0.0 for name in names])
    return ReviewModel(
        features=names,
        # side_mae enters as log(side_mae + 0.001): centred on a mean gap of 0.01.
        mean=np.array([np.log(0.011) if name == "side_mae" else 0.0 for name in names]),
        scale=np.ones(len(names)),
        weights=weights,
        intercept=0.0,
        threshold=threshold,
    )


def _features(maps: np.ndarray) -> dict[str, float]:
    alpha = (maps[0] * 255).astype(np.uint8)
    return review_features(model_signals(maps), compute_proxy_metrics(alpha), (64, 64))


def test_flag_follows_the_score_and_names_what_pulled_it_up() -> None:
    calm = assess(_features(np.stack([disc()] * 7)), model=_toy_model())
    moved = np.stack([disc(centre=(32, 32 + s)) for s in range(0, 28, 4)])
    worried = assess(_features(moved), model=_toy_model())
    assert calm.score < 0.5 <= worried.score
    assert not calm.needs_review and calm.reasons == ()
    assert worried.needs_review and worried.reasons[0] == "uncertain_mask"
    strict = assess(_features(np.stack([disc()] * 7)), model=_toy_model(), threshold=0.0)
    assert strict.needs_review and strict.score == calm.score


def test_forced_reasons_flag_whatever_the_score() -> None:
    quality = assess(_features(np.stack([disc()] * 7)), model=_toy_model(), forced=("x",))
    assert quality.needs_review and quality.reasons[0] == "x"
    assert quality.to_dict()["reasons"][0] == "x"


def test_the_shipped_model_reads_every_feature_the_pipeline_makes() -> None:
    model = shipped_model()
    features = _features(np.stack([disc()] * 7))
    assert set(model.features) == set(features)
    assert len(model.weights) == len(model.mean) == len(model.scale) == len(model.features)
    assert 0 < model.threshold < 1 and 0 <= model.score(features) <= 1
    assert all(name in set().union(*REASON_FEATURES.values()) for name in model.features)


def test_the_shipped_model_scores_a_lost_subject_above_a_clean_one() -> None:
    clean = _features(np.stack([disc(radius=20)] * 7))
    noise = np.random.default_rng(0).uniform(0, 0.2, (7, 64, 64)).astype(np.float32)
    noise[0] = noise[0] / noise[0].max() * 0.3  # the model saw nothing definite
    assert shipped_model().score(_features(noise)) > shipped_model().score(clean)
