"""bench/edges_unseen.py: the 2-fold choice reports each half with what the other half chose,
and a candidate that is best on one half only never sets that half's unseen figure."""

from __future__ import annotations

import numpy as np

from bench.edge_candidates import Candidate, band_fused, candidates
from bench.edges_unseen import BASELINE, half, ratios, two_fold
from worker.pipeline.refine import DEFAULT


def photos_in_both_halves(count: int) -> list[str]:
    names = [f"photo{i}" for i in range(count)]
    assert {half(n) for n in names} == {0, 1}
    return names


def test_each_half_is_reported_with_the_other_halfs_choice() -> None:
    names = photos_in_both_halves(12)
    # "a" is better on half 0, "b" on half 1; the baseline scores 1 everywhere.
    scores = {
        n: {
            BASELINE: (1.0, 1.0),
            "a": (0.5, 0.5) if half(n) == 0 else (0.9, 0.9),
            "b": (0.9, 0.9) if half(n) == 0 else (0.6, 0.6),
        }
        for n in names
    }
    report = two_fold(scores, ["a", "b"], shipped="b")
    first, second = report["folds"]
    assert (first["chosen"], second["chosen"]) == ("a", "b")
    # Chosen on half 0 ("a"), reported on half 1 where it scores 0.9; and the reverse.
    assert first["unseen"] == {"edge_band_mae_ratio": 0.9, "mae_ratio": 0.9}
    assert second["unseen"] == {"edge_band_mae_ratio": 0.9, "mae_ratio": 0.9}
    assert report["pooled_unseen"]["mae_ratio"] == 0.9
    assert first["shipped_on_unseen"]["mae_ratio"] == 0.6
    assert report["halves"] == [sum(half(n) == h for n in names) for h in (0, 1)]


def test_ratios_are_ratios_of_means_over_the_same_photos() -> None:
    scores = {
        "x": {BASELINE: (0.2, 0.1), "m": (0.1, 0.1)},
        "y": {BASELINE: (0.2, 0.3), "m": (0.3, 0.1)},
    }
    edge, mae = ratios(scores, "m", ["x", "y"])
    assert np.isclose(edge, 0.4 / 0.4) and np.isclose(mae, 0.2 / 0.4)


def test_candidates_are_distinct_and_hold_the_shipped_constants() -> None:
    found = candidates()
    names = [c.name for c in found]
    assert len(names) == len(set(names))
    assert Candidate().name in names and Candidate().params == DEFAULT


def test_band_fusion_takes_only_the_contours_band_from_the_larger_run() -> None:
    low = np.zeros((320, 320), np.float32)
    low[80:240, 80:240] = 1.0
    with_zeros = band_fused(low, np.zeros((448, 448), np.float32))
    with_ones = band_fused(low, np.ones((448, 448), np.float32))
    spread = with_ones - with_zeros  # how much of the larger run each pixel takes
    assert spread.shape == (448, 448)
    assert spread[224, 224] == 0.0 and spread[10, 10] == 0.0  # away from the contour
    assert spread[224, 112] > 0.5  # on it (the left edge, 80 * 448 / 320 = 112)
