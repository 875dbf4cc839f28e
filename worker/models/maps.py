"""The maps a u2net-family model returns, in the order the pipeline reads them."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from shared.errors import InferenceFailed


def checked_maps(outputs: Sequence, main_index: int, name: str) -> np.ndarray:
    """Channel 0 of the outputs, (outputs, H, W) float32, the one at `main_index` first.

    A non-finite saliency map fails the run (the side maps only feed the review score).
    """
    main = np.asarray(outputs[main_index], np.float32)[0, 0]
    # Side maps of another size (other model families) are left out rather than resized.
    sides = (np.asarray(outputs[i], np.float32)[0, 0] for i in range(len(outputs)))
    maps = np.stack(
        [main] + [m for i, m in enumerate(sides) if i != main_index and m.shape == main.shape]
    )
    if not np.isfinite(maps[0]).all():
        raise InferenceFailed(f"{name} returned non-finite values for this image")
    return maps
