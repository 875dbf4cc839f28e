"""Per-image scores of a predicted mask against a ground-truth mask.

Conventions (chosen so the numbers compare with PySODMetrics 1.6.2 and published tables):
- GT foreground is ``gt > 128`` everywhere (PySODMetrics' ``prepare_data``). For 0/255 masks
  this equals ``gt >= 128``; it differs only for matte pixels that are exactly 128.
- MAE, F/E curves, S-measure and weighted F use PySODMetrics' prediction: ``pred / 255``,
  then min-max normalised when max != min (MATLAB ``mapminmax(im2double(pred))``).
- IoU, Dice, precision, recall and accuracy binarise the raw prediction at ``pred >= 128``,
  the operating point of the service. A ratio whose denominator is zero scores 1.0 when both
  maps are empty (perfect agreement) and 0.0 otherwise (e.g. precision of an empty
  prediction on a non-empty GT), like PySODMetrics' 0/0 -> 0 except for the both-empty case.
- Curves have 256 entries indexed by threshold t (foreground = normalised pred*255 >= t).
  PySODMetrics stores the same values in reverse order (index 0 = threshold 255).
- ``mae_soft`` is mean |pred - gt| / 255 on the raw maps, the matting convention for soft GT.

Everything per-pixel goes through 256-bin histograms of the uint8 prediction (split by GT
class and by S-measure quadrant), so only weighted F needs full-resolution float maps.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import cv2
import numpy as np

EPS = float(np.spacing(1))  # MATLAB's eps, as PySODMetrics uses it
F_BETA2 = 0.3  # beta^2 of the F-measure curve (SOD convention)
WF_BETA2 = 1.0  # beta^2 of the weighted F-measure (Margolin et al. 2014)
S_ALPHA = 0.5  # balance of object and region terms in the S-measure
BINARY_THRESHOLD = 128  # pred >= 128 is foreground for IoU/Dice/precision/recall/accuracy
GT_THRESHOLD = 128  # gt > 128 is foreground (PySODMetrics)
_HIST_CHUNK_PIXELS = 1 << 22  # bounds the int64 temporaries np.bincount makes


@dataclass(frozen=True, eq=False)
class MaskScores:
    """Scores of one prediction; the curves let a dataset aggregator average per threshold."""

    iou: float
    dice: float
    precision: float
    recall: float
    accuracy: float
    mae: float
    mae_soft: float
    max_f: float
    s_measure: float
    mean_e: float
    weighted_f: float
    precision_curve: np.ndarray
    recall_curve: np.ndarray
    f_curve: np.ndarray
    e_curve: np.ndarray

    def scalars(self) -> dict[str, float]:
        """The scalar scores by name (no curves), ready for JSON or CSV."""
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        return {k: v for k, v in values.items() if isinstance(v, float)}


def score_mask(pred: np.ndarray, gt: np.ndarray) -> MaskScores:
    """Score a soft uint8 prediction against a uint8 ground truth of the same HxW."""
    _check_inputs(pred, gt)
    gt_fg = gt > GT_THRESHOLD
    lut = _normalising_lut(pred)
    quads, (cy, cx) = _quadrant_histograms(pred, gt_fg)
    hist = np.sum(quads, axis=0)
    binned = _rebin(hist, lut)
    p_curve, r_curve, f_curve = _pr_curves(binned)
    e_curve = _e_curve(binned)
    return MaskScores(
        **_binary_scores(hist),
        mae=_mae(hist, lut),
        mae_soft=float(cv2.absdiff(pred, gt).sum(dtype=np.int64)) / (255.0 * pred.size),
        max_f=float(f_curve.max()),
        s_measure=_s_measure(quads, lut, (cy, cx), pred.shape),
        mean_e=float(e_curve.mean()),
        weighted_f=_weighted_f(pred, gt_fg, lut),
        precision_curve=_frozen(p_curve),
        recall_curve=_frozen(r_curve),
        f_curve=_frozen(f_curve),
        e_curve=_frozen(e_curve),
    )


def _check_inputs(pred: np.ndarray, gt: np.ndarray) -> None:
    if pred.dtype != np.uint8 or gt.dtype != np.uint8 or pred.ndim != 2:
        raise ValueError("pred and gt must be 2-D uint8 arrays")
    if pred.shape != gt.shape or pred.size == 0:
        raise ValueError(f"shape mismatch or empty: pred {pred.shape}, gt {gt.shape}")
    if int(gt.max()) == 1:
        raise ValueError("gt looks like a 0/1 mask; read it with load_ground_truth()")


def _frozen(a: np.ndarray) -> np.ndarray:
    a.flags.writeable = False
    return a


def _normalising_lut(pred: np.ndarray) -> np.ndarray:
    """PySODMetrics' normalised prediction for each uint8 value, with its exact float ops."""
    values = np.arange(256) / 255
    lo, hi = int(pred.min()), int(pred.max())
    if lo != hi:
        values = (values - lo / 255) / (hi / 255 - lo / 255)
    return values


def _joint_hist(pred: np.ndarray, gt_fg: np.ndarray) -> np.ndarray:
    """Counts [g, v] of pixels with GT class g (0 bg, 1 fg) and prediction value v."""
    counts = np.zeros(512, np.int64)
    rows = max(1, _HIST_CHUNK_PIXELS // max(pred.shape[1], 1))
    for r in range(0, pred.shape[0], rows):
        code = pred[r : r + rows].astype(np.uint16)
        code[gt_fg[r : r + rows]] += 256
        counts += np.bincount(code.ravel(), minlength=512)
    return counts.reshape(2, 256)


def _quadrant_histograms(
    pred: np.ndarray, gt_fg: np.ndarray
) -> tuple[list[np.ndarray], tuple[int, int]]:
    """Joint histograms of the four S-measure blocks split one past the GT centroid."""
    h, w = gt_fg.shape
    rows = np.count_nonzero(gt_fg, axis=1)
    n = int(rows.sum())
    if n == 0:
        cy, cx = round(h / 2), round(w / 2)  # unused by the S-measure, which needs no split
    else:
        cols = np.count_nonzero(gt_fg, axis=0)
        # Same integer sums and division as PySODMetrics' argwhere().mean(), so ties round alike.
        cy = int(np.round(int(rows @ np.arange(h, dtype=np.int64)) / n))
        cx = int(np.round(int(cols @ np.arange(w, dtype=np.int64)) / n))
    cy, cx = cy + 1, cx + 1  # MATLAB's 1:X includes X
    blocks = [(slice(0, cy), slice(0, cx)), (slice(0, cy), slice(cx, w))]
    blocks += [(slice(cy, h), slice(0, cx)), (slice(cy, h), slice(cx, w))]
    return [_joint_hist(pred[b], gt_fg[b]) for b in blocks], (cy, cx)


def _rebin(hist: np.ndarray, lut: np.ndarray) -> np.ndarray:
    """Move raw-value counts to the bins PySODMetrics uses: uint8(normalised * 255)."""
    bins = (lut * 255).astype(np.uint8)
    return np.stack([np.bincount(bins, weights=hist[g], minlength=256) for g in (0, 1)])


def _binary_scores(hist: np.ndarray) -> dict[str, float]:
    tp = int(hist[1, BINARY_THRESHOLD:].sum())
    fp = int(hist[0, BINARY_THRESHOLD:].sum())
    fn = int(hist[1].sum()) - tp
    tn = int(hist[0].sum()) - fp
    both_empty = tp + fp + fn == 0

    def ratio(num: int, den: int) -> float:
        return num / den if den else float(both_empty)

    return {
        "iou": ratio(tp, tp + fp + fn),
        "dice": ratio(2 * tp, 2 * tp + fp + fn),
        "precision": ratio(tp, tp + fp),
        "recall": ratio(tp, tp + fn),
        "accuracy": (tp + tn) / (tp + tn + fp + fn),
    }


def _mae(hist: np.ndarray, lut: np.ndarray) -> float:
    err = hist[0] @ lut + hist[1] @ (1 - lut)
    return float(err / hist.sum())


def _at_or_above(counts: np.ndarray) -> np.ndarray:
    """Counts with value >= t for every threshold t (a reversed cumulative histogram)."""
    return np.cumsum(counts[::-1])[::-1]


def _pr_curves(binned: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    tps = _at_or_above(binned[1])
    preds = tps + _at_or_above(binned[0])
    preds[preds == 0] = 1  # then tps is 0 too, so precision is 0 there
    precision = tps / preds
    recall = tps / max(binned[1].sum(), 1)
    num = (1 + F_BETA2) * precision * recall
    den = np.where(num == 0, 1, F_BETA2 * precision + recall)
    return precision, recall, num / den


def _e_curve(binned: np.ndarray) -> np.ndarray:
    """Mean E-measure of the binarised prediction at each threshold (Fan et al. 2018)."""
    size = binned.sum()
    gt_fg = binned[1].sum()
    tp = _at_or_above(binned[1])
    pred_fg = tp + _at_or_above(binned[0])
    pred_bg = size - pred_fg
    if gt_fg == 0:
        total = pred_bg
    elif gt_fg == size:
        total = pred_fg
    else:
        fn = gt_fg - tp
        parts = (tp, pred_fg - tp, fn, pred_bg - fn)  # pred/gt: fg/fg, fg/bg, bg/fg, bg/bg
        mu_pred, mu_gt = pred_fg / size, gt_fg / size
        pairs = [(1 - mu_pred, 1 - mu_gt), (1 - mu_pred, -mu_gt)]
        pairs += [(-mu_pred, 1 - mu_gt), (-mu_pred, -mu_gt)]
        total = np.zeros(256)
        for count, (dp, dg) in zip(parts, pairs, strict=True):
            align = 2 * (dp * dg) / (dp**2 + dg**2 + EPS)
            total = total + (align + 1) ** 2 / 4 * count
    return total / (size - 1 + EPS)


def _s_measure(
    quads: list[np.ndarray], lut: np.ndarray, centre: tuple[int, int], shape: tuple[int, ...]
) -> float:
    """Structure measure (Fan et al. 2017) from per-block histograms."""
    hist = np.sum(quads, axis=0)
    size = hist.sum()
    gt_mean = hist[1].sum() / size
    if gt_mean == 0:
        return float(1 - (hist.sum(axis=0) @ lut) / size)
    if gt_mean == 1:
        return float((hist.sum(axis=0) @ lut) / size)
    fg = _s_object(hist[1], lut) * gt_mean
    bg = _s_object(hist[0], 1 - lut) * (1 - gt_mean)
    (h, w), (cy, cx) = shape, centre
    weights = (cx * cy, cy * (w - cx), (h - cy) * cx, (h - cy) * (w - cx))
    # Blocks are empty only when the centroid sits on the last row/column; PySODMetrics then
    # returns NaN, here an empty block has weight 0 and contributes nothing.
    region = sum(_ssim(q, lut) * wt / (h * w) for q, wt in zip(quads, weights, strict=True) if wt)
    return float(max(0.0, S_ALPHA * (fg + bg) + (1 - S_ALPHA) * region))


def _s_object(counts: np.ndarray, values: np.ndarray) -> float:
    n = counts.sum()
    mean = counts @ values / n
    std = np.sqrt(counts @ (values - mean) ** 2 / (n - 1)) if n > 1 else 0.0
    return float(2 * mean / (mean**2 + 1 + std + EPS))


def _ssim(hist: np.ndarray, lut: np.ndarray) -> float:
    n = hist.sum()
    x_counts = hist.sum(axis=0)
    mx = x_counts @ lut / n
    my = hist[1].sum() / n
    dx = lut - mx
    sx = x_counts @ dx**2 / (n - 1 + EPS)
    sy = (hist[1].sum() * (1 - my) ** 2 + hist[0].sum() * my**2) / (n - 1 + EPS)
    sxy = (hist[1] @ dx * (1 - my) - hist[0] @ dx * my) / (n - 1 + EPS)
    alpha = 4 * mx * my * sxy
    beta = (mx**2 + my**2) * (sx + sy)
    if alpha != 0:
        return float(alpha / (beta + EPS))
    return 1.0 if beta == 0 else 0.0


def _gauss_kernel(size: int = 7, sigma: float = 5.0) -> np.ndarray:
    """MATLAB fspecial('gaussian', size, sigma)."""
    r = (size - 1) / 2
    y, x = np.ogrid[-r : r + 1, -r : r + 1]
    k = np.exp(-(x * x + y * y) / (2 * sigma * sigma))
    k[k < np.finfo(k.dtype).eps * k.max()] = 0
    return k / k.sum()


def _weighted_f(pred: np.ndarray, gt_fg: np.ndarray, lut: np.ndarray) -> float:
    """Weighted F-measure (Margolin et al. 2014) as PySODMetrics' WeightedFmeasure."""
    n_fg = int(np.count_nonzero(gt_fg))
    if n_fg == 0:
        return 0.0
    # float32 maps with float64 sums: float64 maps would cost 200 MB each at 25 MP.
    # Imported here: scipy costs 0.3 s of start-up to every `cutout` command, and only the
    # weighted F-measure needs it.
    from scipy.ndimage import distance_transform_edt

    iy, ix = distance_transform_edt(~gt_fg, return_distances=False, return_indices=True)
    err = lut.astype(np.float32)[pred]
    np.subtract(1, err, out=err, where=gt_fg)  # |pred - gt|
    # Background pixels take the error of their nearest GT-foreground pixel before smoothing.
    kernel = _gauss_kernel().astype(np.float32)
    smoothed = cv2.filter2D(err[iy, ix], -1, kernel, borderType=cv2.BORDER_CONSTANT)
    fg_err = np.minimum(err, smoothed, out=smoothed)
    fg_sum = float(np.sum(fg_err, where=gt_fg, dtype=np.float64))
    del smoothed, fg_err
    weighted = np.multiply(err, _importance(iy, ix), out=err)
    fp_w = float(np.sum(weighted, where=~gt_fg, dtype=np.float64))
    recall = 1 - fg_sum / n_fg
    tp_w = n_fg - fg_sum
    precision = tp_w / (tp_w + fp_w + EPS)
    return float((1 + WF_BETA2) * recall * precision / (recall + WF_BETA2 * precision + EPS))


def _importance(iy: np.ndarray, ix: np.ndarray) -> np.ndarray:
    """2 - 0.5 ** (d / 5), d = distance to the nearest GT-foreground pixel (from its indices)."""
    dy = iy - np.arange(iy.shape[0], dtype=iy.dtype)[:, None]
    dx = ix - np.arange(ix.shape[1], dtype=ix.dtype)[None, :]
    np.multiply(dy, dy, out=dy)
    dy += dx * dx
    dist = np.sqrt(dy, dtype=np.float32)
    np.multiply(dist, np.float32(np.log(0.5) / 5), out=dist)
    return np.subtract(2, np.exp(dist, out=dist), out=dist)
