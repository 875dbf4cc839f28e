"""The review verdict of one result: its quality proxies and its review score."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from PIL import Image

from shared.metrics.proxy import ProxyMetrics, compute_proxy_metrics, work_copy
from shared.metrics.review import Quality, alpha_signals, assess, review_features


def review(
    alpha: Image.Image, signals: dict[str, float] | None, threshold: float | None
) -> tuple[ProxyMetrics, Quality]:
    """The alpha's proxies and the review verdict (flagged from `threshold` up; None: the
    shipped operating point). The proxies' own `needs_review` and `review_reasons` are the
    verdict's, so every report agrees with `quality`. `signals` None means no model made
    the mask (the fallback): such a result is always flagged.
    """
    pixels = np.asarray(alpha)
    proxy = compute_proxy_metrics(pixels)
    forced: tuple[str, ...] = ()
    if signals is None:
        signals, forced = alpha_signals(work_copy(pixels)), ("fallback_mask",)
    features = review_features(signals, proxy, alpha.size)
    quality = assess(features, threshold=threshold, forced=forced)
    verdict = replace(proxy, needs_review=quality.needs_review, review_reasons=quality.reasons)
    return verdict, quality
