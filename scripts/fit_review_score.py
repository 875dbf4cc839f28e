"""Refit the review score (shared/metrics/review_score.json) on the dev split.

    python scripts/fit_review_score.py features ../shared/eval/dev   # inference, resumable
    python scripts/fit_review_score.py fit                           # seconds, no inference

`features` runs the default pipeline over every benchmark image and writes one row per
image (its review features, its IoU against the truth and the old rule's flag) to
bench/results/review_features.csv; rows already there are kept, so an interrupted run goes
on where it stopped. `fit` reads that table only: an L2-penalised logistic regression fitted
by iteratively reweighted least squares (a few lines of numpy, so the fit needs no
scikit-learn), its penalty chosen by inner cross-validation, scored by outer 5-fold
cross-validation whose folds are random groups of images drawn within each benchmark,
repeated over several shuffles; the final model is refitted on all rows. The
cross-validated figures go to bench/results/review_score_cv.json.
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

from scripts.review_cv import cross_validate, fit_final  # noqa: E402

TABLE = ROOT / "bench" / "results" / "review_features.csv"
CV_REPORT = ROOT / "bench" / "results" / "review_score_cv.json"
COEFFICIENTS = ROOT / "shared" / "metrics" / "review_score.json"
FAILURE_IOU = 0.8  # a result with IoU under 0.8 against the truth needs a person


@click.group()
def main() -> None:
    """Build the feature table, or fit the score on it."""


@main.command()
@click.argument("dev", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--limit", type=int, help="Only the first N images per benchmark.")
@click.option("--benchmark", "names", multiple=True, help="Only these benchmarks.")
def features(dev: Path, limit: int | None, names: tuple[str, ...]) -> None:
    """Run the default pipeline over DEV and append the missing rows to the table."""
    from scripts.review_features import feature_rows

    done = {(row["benchmark"], row["image"]) for row in read_table()} if TABLE.exists() else set()
    with TABLE.open("a", newline="") as handle:
        writer = None
        for row in feature_rows(dev, limit=limit, names=names, skip=done):
            if writer is None:
                writer = csv.DictWriter(handle, list(row))
                if not done:
                    writer.writeheader()
            writer.writerow(row)
            handle.flush()
            click.echo(f"{row['benchmark']}/{row['image']}: iou {row['iou']:.3f}", err=True)


def read_table() -> list[dict[str, str]]:
    """The feature table's rows as strings."""
    with TABLE.open(newline="") as handle:
        return list(csv.DictReader(handle))


@main.command()
@click.option("--flag-rate", default=0.25, show_default=True, help="Operating point.")
@click.option("--repeats", default=5, show_default=True, help="Shuffles of the outer folds.")
def fit(flag_rate: float, repeats: int) -> None:
    """Cross-validate on the table, then fit on all of it and write the coefficients."""
    from shared.metrics.review import REASON_FEATURES

    rows = read_table()
    names = [name for name in rows[0] if name not in NOT_FEATURES]
    x = np.array([[float(row[name]) for name in names] for row in rows])
    y = np.array([float(row["iou"]) < FAILURE_IOU for row in rows], float)
    groups = np.array([row["benchmark"] for row in rows])
    old_flags = np.array([row["old_needs_review"] == "True" for row in rows])
    report = cross_validate(x, y, groups, old_flags, flag_rate=flag_rate, repeats=repeats)
    model = fit_final(x, y, groups, flag_rate=flag_rate, names=names)
    unused = set(names) - {name for group in REASON_FEATURES.values() for name in group}
    if unused:
        raise click.ClickException(f"features with no reason: {sorted(unused)}")
    COEFFICIENTS.write_text(json.dumps(model, indent=2) + "\n")
    CV_REPORT.write_text(json.dumps(report, indent=2) + "\n")
    click.echo(json.dumps(report["benchmarks"], indent=2))


NOT_FEATURES = {"benchmark", "image", "iou", "old_needs_review", "width", "height"}

if __name__ == "__main__":
    main()
