"""The review score's feature rows: the default pipeline over benchmark images, one row each."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from cutout.evaluation import find_benchmarks
from shared.metrics.masks import load_ground_truth
from shared.metrics.proxy import compute_proxy_metrics
from shared.metrics.review import review_features
from shared.options import ProcessOptions
from shared.settings import get_settings
from worker.pipeline.run import mask_image
from worker.pipeline.timing import StageTimer


def iou(alpha: np.ndarray, truth: np.ndarray) -> float:
    """IoU of the mask (alpha >= 128) and the truth (> 128), as `cutout eval` binarises."""
    pred, gt = alpha >= 128, truth > 128
    union = np.count_nonzero(pred | gt)
    return 1.0 if union == 0 else np.count_nonzero(pred & gt) / union


def feature_rows(
    dev: Path, *, limit: int | None, names: tuple[str, ...], skip: set[tuple[str, str]]
) -> Iterator[dict[str, Any]]:
    """One row per image not in `skip`: the features, IoU and the old rule's flag."""
    settings = get_settings()
    options = ProcessOptions(mode="mask")
    for benchmark in find_benchmarks(dev, limit):
        if names and benchmark.name not in names:
            continue
        for image, mask_path in benchmark.pairs:
            if (benchmark.name, image.stem) in skip:
                continue
            masked = mask_image(image, options, settings=settings, timer=StageTimer())
            if masked.signals is None:
                continue  # the fallback made the mask: it is always flagged, not scored
            alpha = np.asarray(masked.alpha)
            proxy = compute_proxy_metrics(alpha)
            yield {
                "benchmark": benchmark.name,
                "image": image.stem,
                "width": alpha.shape[1],
                "height": alpha.shape[0],
                "iou": iou(alpha, load_ground_truth(mask_path)),
                "old_needs_review": proxy.needs_review,
                **review_features(masked.signals, proxy, masked.alpha.size),
            }
