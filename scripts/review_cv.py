"""Fitting and cross-validating the review score's logistic regression (numpy only).

Hand-written rather than scikit-learn's: the fit is 20 lines of IRLS, and the project's
environments do not carry scikit-learn.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.stats import rankdata

PENALTIES = (0.1, 1.0, 10.0, 100.0)  # L2 penalty on the standardised weights, tried inside
FOLDS = 5
SEED = 13


def fit_logistic(x: np.ndarray, y: np.ndarray, penalty: float) -> tuple[np.ndarray, float]:
    """Weights and intercept of an L2-penalised logistic regression (x standardised)."""
    n, d = x.shape
    design = np.hstack([np.ones((n, 1)), x])
    beta = np.zeros(d + 1)
    ridge = penalty * np.eye(d + 1)
    ridge[0, 0] = 0.0  # the intercept is not penalised
    for _ in range(100):
        p = 1 / (1 + np.exp(-np.clip(design @ beta, -30, 30)))
        w = np.maximum(p * (1 - p), 1e-9)
        gradient = design.T @ (y - p) - ridge @ beta
        hessian = design.T @ (design * w[:, None]) + ridge
        step = np.linalg.solve(hessian, gradient)
        beta += step
        if np.abs(step).max() < 1e-8:
            break
    return beta[1:], float(beta[0])


def standardise(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Column means and scales (a constant column gets scale 1)."""
    scale = x.std(axis=0)
    return x.mean(axis=0), np.where(scale > 0, scale, 1.0)


def predict(x: np.ndarray, model: tuple) -> np.ndarray:
    """Scores of rows `x` under (mean, scale, weights, intercept)."""
    mean, scale, weights, intercept = model
    return 1 / (1 + np.exp(-np.clip(intercept + ((x - mean) / scale) @ weights, -30, 30)))


def train(x: np.ndarray, y: np.ndarray, penalty: float) -> tuple:
    """(mean, scale, weights, intercept) fitted on these rows."""
    mean, scale = standardise(x)
    weights, intercept = fit_logistic((x - mean) / scale, y, penalty)
    return mean, scale, weights, intercept


def folds_within(groups: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """A fold number per row: each benchmark's images shuffled and dealt into k folds."""
    fold = np.zeros(len(groups), int)
    for name in np.unique(groups):
        rows = np.flatnonzero(groups == name)
        fold[rng.permutation(rows)] = np.arange(len(rows)) % k
    return fold


def auroc(score: np.ndarray, y: np.ndarray) -> float | None:
    """Area under the ROC curve (Mann-Whitney, ties counted half)."""
    positives, negatives = int(y.sum()), int(len(y) - y.sum())
    if positives == 0 or negatives == 0:
        return None
    ranks = rankdata(score)
    return float((ranks[y == 1].sum() - positives * (positives + 1) / 2) / (positives * negatives))


def recall_at_rate(score: np.ndarray, y: np.ndarray, rate: float) -> float | None:
    """Share of failures among the top `rate` of rows by score."""
    if y.sum() == 0:
        return None
    flagged = np.argsort(-score, kind="stable")[: int(round(rate * len(score)))]
    return float(y[flagged].sum() / y.sum())


def balanced_threshold(score: np.ndarray, groups: np.ndarray, rate: float) -> float:
    """The score above which `rate` of the rows are flagged, each benchmark weighing the same."""
    weights = np.zeros(len(score))
    for name in np.unique(groups):
        weights[groups == name] = 1 / np.count_nonzero(groups == name)
    order = np.argsort(-score)
    cumulative = np.cumsum(weights[order]) / weights.sum()
    return float(score[order][np.searchsorted(cumulative, rate)])


def choose_penalty(x: np.ndarray, y: np.ndarray, groups: np.ndarray, seed: int) -> float:
    """The penalty with the best inner-cross-validated log-loss."""
    fold = folds_within(groups, FOLDS - 1, np.random.default_rng(seed))
    losses = []
    for penalty in PENALTIES:
        loss = 0.0
        for k in range(FOLDS - 1):
            test = fold == k
            p = np.clip(predict(x[test], train(x[~test], y[~test], penalty)), 1e-6, 1 - 1e-6)
            loss -= float(np.sum(y[test] * np.log(p) + (1 - y[test]) * np.log(1 - p)))
        losses.append(loss)
    return PENALTIES[int(np.argmin(losses))]


def out_of_fold(
    x: np.ndarray, y: np.ndarray, groups: np.ndarray, rate: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Each row's score and flag from a model (and threshold) fitted without its fold."""
    fold = folds_within(groups, FOLDS, np.random.default_rng(seed))
    scores, flags = np.zeros(len(y)), np.zeros(len(y), bool)
    for k in range(FOLDS):
        test = fold == k
        penalty = choose_penalty(x[~test], y[~test], groups[~test], seed + 1 + k)
        model = train(x[~test], y[~test], penalty)
        threshold = balanced_threshold(predict(x[~test], model), groups[~test], rate)
        scores[test] = predict(x[test], model)
        flags[test] = scores[test] >= threshold
    return scores, flags


def cross_validate(
    x: np.ndarray,
    y: np.ndarray,
    groups: np.ndarray,
    old_flags: np.ndarray,
    *,
    flag_rate: float,
    repeats: int,
) -> dict[str, Any]:
    """Per-benchmark out-of-fold figures, the mean over `repeats` shuffles of the folds."""
    runs = [out_of_fold(x, y, groups, flag_rate, SEED + 100 * r) for r in range(repeats)]
    report: dict[str, Any] = {"flag_rate": flag_rate, "folds": FOLDS, "repeats": repeats}
    report["benchmarks"] = {
        name: _benchmark_figures(groups == name, y, runs, old_flags, flag_rate)
        for name in np.unique(groups)
    }
    return report


def _benchmark_figures(
    rows: np.ndarray, y: np.ndarray, runs: list, old_flags: np.ndarray, rate: float
) -> dict[str, Any]:
    yb, old = y[rows], old_flags[rows]

    def mean(values: list) -> float | None:
        kept = [v for v in values if v is not None]
        return round(float(np.mean(kept)), 4) if kept else None

    aurocs = [auroc(s[rows], yb) for s, _ in runs]
    recalls = [recall_at_rate(s[rows], yb, rate) for s, _ in runs]
    caught = [float(f[rows][yb == 1].mean()) if yb.sum() else None for _, f in runs]
    return {
        "images": int(rows.sum()),
        "failures": int(yb.sum()),
        "auroc": mean(aurocs),
        "auroc_range": _range(aurocs),
        f"recall_at_{int(rate * 100)}pct": mean(recalls),
        "threshold_flag_rate": mean([float(f[rows].mean()) for _, f in runs]),
        "threshold_recall": mean(caught),
        "old_rule": {
            "flag_rate": round(float(old.mean()), 4),
            "recall": round(float(old[yb == 1].mean()), 4) if yb.sum() else None,
            "auroc": auroc(old.astype(float), yb),
        },
    }


def _range(values: list) -> list[float] | None:
    kept = [v for v in values if v is not None]
    return [round(min(kept), 4), round(max(kept), 4)] if kept else None


def fit_final(
    x: np.ndarray, y: np.ndarray, groups: np.ndarray, *, flag_rate: float, names: list[str]
) -> dict[str, Any]:
    """The model on all rows, with the benchmark-balanced threshold for `flag_rate`."""
    penalty = choose_penalty(x, y, groups, SEED)
    mean, scale, weights, intercept = train(x, y, penalty)
    threshold = balanced_threshold(predict(x, (mean, scale, weights, intercept)), groups, flag_rate)
    return {
        "about": "scripts/fit_review_score.py fit; IoU < 0.8 failures on the dev split",
        "features": names,
        "mean": [round(float(v), 6) for v in mean],
        "scale": [round(float(v), 6) for v in scale],
        "weights": [round(float(v), 6) for v in weights],
        "intercept": round(intercept, 6),
        "penalty": penalty,
        "threshold": round(threshold, 4),
        "flag_rate": flag_rate,
    }
