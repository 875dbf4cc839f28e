"""The OpenCV GrabCut fallback finds a central subject on a plain background."""

from __future__ import annotations

import numpy as np

from tests.conftest import subject_photo
from worker.fallback import grabcut_mask


def test_grabcut_finds_the_central_disc() -> None:
    photo = subject_photo(240, 180)
    mask = np.asarray(grabcut_mask(photo))
    assert mask.shape == (180, 240)
    truth = np.asarray(photo)[..., 0] > 150
    found = mask >= 128
    iou = (found & truth).sum() / (found | truth).sum()
    assert iou > 0.85
