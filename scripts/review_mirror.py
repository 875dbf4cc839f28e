"""Does agreement with a mirrored second inference improve the review score? (Measured; not
shipped: see docs/quality.md.)

    python scripts/review_mirror.py features ../shared/eval/dev   # one more inference per image
    python scripts/review_mirror.py cv                            # seconds

`features` runs u2netp on every dev image as the pipeline feeds it and on its mirror image,
and writes how far the two 320 px masks agree (IoU of the 0.5 masks, mean and largest
absolute difference of the maps) to bench/results/review_mirror.csv. `cv` cross-validates
the review score on bench/results/review_features.csv exactly as `fit_review_score.py fit`
does, without and with those columns, and writes both to bench/results/review_mirror_cv.json.
"""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

import click
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from scripts.fit_review_score import FAILURE_IOU, NOT_FEATURES, read_table  # noqa: E402
from scripts.review_cv import cross_validate  # noqa: E402

TABLE = ROOT / "bench" / "results" / "review_mirror.csv"
REPORT = ROOT / "bench" / "results" / "review_mirror_cv.json"
COLUMNS = ("mirror_iou", "mirror_mae", "mirror_max")


@click.group()
def main() -> None:
    """Measure mirror agreement, or cross-validate the score with it."""


@main.command()
@click.argument("dev", type=click.Path(exists=True, file_okay=False, path_type=Path))
def features(dev: Path) -> None:
    """One row of mirror agreement per image of every benchmark under DEV."""
    from cutout.evaluation import find_benchmarks
    from shared.settings import get_settings
    from worker.models.session import get_model
    from worker.pipeline.decode import decode
    from worker.pipeline.mask import normalise
    from worker.pipeline.preprocess import model_input

    settings = get_settings()
    model = get_model("u2netp", settings)
    with TABLE.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["benchmark", "image", *COLUMNS])
        for benchmark in find_benchmarks(dev):
            for image, _ in benchmark.pairs:
                rgb = decode(image, max_megapixels=settings.max_megapixels).rgb
                tensor = model_input(rgb, model.spec)
                plain = normalise(model.predict(tensor))
                mirrored = np.ascontiguousarray(tensor[..., ::-1])
                flipped = normalise(model.predict(mirrored))[:, ::-1]
                writer.writerow([benchmark.name, image.stem, *agreement(plain, flipped)])


def agreement(a: np.ndarray, b: np.ndarray) -> tuple[float, float, float]:
    """IoU of the two maps' 0.5 masks, mean and largest absolute difference."""
    first, second = a >= 0.5, b >= 0.5
    union = int(np.count_nonzero(first | second))
    iou = np.count_nonzero(first & second) / union if union else 1.0
    difference = np.abs(a - b)
    return float(iou), float(difference.mean()), float(difference.max())


@main.command()
@click.option("--repeats", default=5, show_default=True, help="Shuffles of the outer folds.")
def cv(repeats: int) -> None:
    """The review score's cross-validated figures without and with mirror agreement."""
    rows = read_table()
    with TABLE.open(newline="") as handle:
        mirror = {(r["benchmark"], r["image"]): r for r in csv.DictReader(handle)}
    rows = [row for row in rows if (row["benchmark"], row["image"]) in mirror]
    names = [name for name in rows[0] if name not in NOT_FEATURES]
    base = np.array([[float(row[name]) for name in names] for row in rows])
    extra = np.array([_mirror_features(mirror[(r["benchmark"], r["image"])]) for r in rows])
    y = np.array([float(row["iou"]) < FAILURE_IOU for row in rows], float)
    groups = np.array([row["benchmark"] for row in rows])
    old = np.array([row["old_needs_review"] == "True" for row in rows])
    report = {}
    for label, x in (("without", base), ("with_mirror", np.hstack([base, extra]))):
        found = cross_validate(x, y, groups, old, flag_rate=0.25, repeats=repeats)
        report[label] = found["benchmarks"]
    REPORT.write_text(json.dumps(report, indent=2) + "\n")
    for label, figures in report.items():
        summary = {str(k): (v["auroc"], v["recall_at_25pct"]) for k, v in figures.items()}
        click.echo(f"{label}: {summary}")


def _mirror_features(row: dict[str, str]) -> list[float]:
    # Shares near 1 enter as the logarithm of their distance from it, as in the score itself.
    iou, mae, largest = (float(row[c]) for c in COLUMNS)
    return [float(np.log(max(1 - iou, 1e-4))), float(np.log(mae + 1e-4)), largest]


if __name__ == "__main__":
    main()
