"""The real u2netp weights on real images: rembg parity and default-vs-compat quality.

Needs the model (`make setup`) and the eval data (CUTOUT_EVAL_DIR); skips without them.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from shared.metrics.aggregate import DatasetScores
from shared.metrics.ground_truth import score_mask
from shared.metrics.masks import load_ground_truth
from shared.options import ProcessOptions
from shared.settings import Settings
from tests.conftest import require_eval_data, require_real_model
from worker.pipeline.run import mask_image, process
from worker.pipeline.timing import StageTimer

FIXTURES = ["anime-girl-1", "car-1", "cloth-1", "plants-1"]


@pytest.fixture(scope="module")
def settings() -> Settings:
    return Settings(model_dir=require_real_model().parent, model="u2netp", fallback=False)


@pytest.mark.parametrize("name", FIXTURES)
def test_compat_rembg_reproduces_rembgs_u2netp_alpha(name: str, settings: Settings) -> None:
    root = require_eval_data("rembg-fixtures")
    target = io.BytesIO()
    outcome = process(
        root / "fixtures" / f"{name}.jpg", target, ProcessOptions(compat="rembg"), settings=settings
    )
    ours = np.asarray(Image.open(target))[..., 3].astype(np.int16)
    expected = np.asarray(Image.open(root / "results" / f"{name}.u2netp.png"))[..., 3]
    difference = np.abs(ours - expected)
    assert outcome.method == "u2netp"
    assert difference.mean() <= 0.1, f"mean abs difference {difference.mean():.4f}"
    assert difference.max() <= 2, f"max abs difference {difference.max()}"


def _scores(folder: Path, options: ProcessOptions, settings: Settings, count: int) -> dict:
    scores = DatasetScores()
    for image in sorted((folder / "images").glob("*.jpg"))[:count]:
        masked = mask_image(image, options, settings=settings, timer=StageTimer())
        truth = load_ground_truth(folder / "masks" / f"{image.stem}.png")
        scores.add(image.stem, score_mask(np.asarray(masked.alpha), truth))
    return scores.summary().to_dict()


@pytest.mark.parametrize(("benchmark", "count"), [("ECSSD", 25), ("SOD", 20), ("AIM-500", 5)])
def test_default_is_not_worse_than_compat_rembg(
    benchmark: str, count: int, settings: Settings
) -> None:
    folder = require_eval_data("dev", benchmark)
    ours = _scores(folder, ProcessOptions(mode="mask"), settings, count)
    rembg = _scores(folder, ProcessOptions(mode="mask", compat="rembg"), settings, count)
    assert ours["mae"] <= rembg["mae"] * 1.001
    assert ours["mae_soft"] <= rembg["mae_soft"] * 1.001
    assert ours["max_f"] >= rembg["max_f"] - 0.001
    assert ours["s_measure"] >= rembg["s_measure"] - 0.001
