"""Score pred/gt pairs with PySODMetrics 1.6.2, as an independent reference for shared.metrics.

Run it with the interpreter of `.venv-reference` (pysodmetrics pins numpy<2.3.5):

    .venv-reference/bin/python tests/reference/pysod_reference.py IN.npz OUT.json

IN.npz holds `names` (N strings) and uint8 HxW arrays `pred_<i>` and `gt_<i>` for i < N.
OUT.json holds, per image, PySODMetrics' own per-image values (curves in its order: index 0 is
threshold 255) and the dataset-level results of `get_results()`. This file imports numpy and
pysodmetrics only, never project code, so that the comparison stays independent.
"""

from __future__ import annotations

import json
import sys

import numpy as np
import py_sod_metrics as sod


def _binary_handlers() -> dict[str, object]:
    # PySODMetrics binarises the min-max normalised prediction with `> 0.5`.
    kinds = {
        "iou": sod.IOUHandler,
        "dice": sod.DICEHandler,
        "precision": sod.PrecisionHandler,
        "recall": sod.RecallHandler,
        "accuracy": sod.OverallAccuracyHandler,
    }
    return {
        name: cls(False, False, with_binary=True, sample_based=True) for name, cls in kinds.items()
    }


def main(in_path: str, out_path: str) -> None:
    data = np.load(in_path)
    names = [str(n) for n in data["names"]]
    mae, sm, em, wfm = (
        sod.MAE(),
        sod.Smeasure(alpha=0.5),
        sod.Emeasure(),
        sod.WeightedFmeasure(beta=1),
    )
    handlers = {"f": sod.FmeasureHandler(True, False, beta=0.3), **_binary_handlers()}
    fmv2 = sod.FmeasureV2(metric_handlers=handlers)
    for i in range(len(names)):
        pred, gt = data[f"pred_{i}"], data[f"gt_{i}"]
        for metric in (mae, sm, em, wfm, fmv2):
            metric.step(pred=pred, gt=gt)
    images = []
    # The per-image values are the lists each metric averages in get_results().
    for i, name in enumerate(names):
        f_curve = np.asarray(handlers["f"].dynamic_results[i], dtype=np.float64)
        e_curve = np.asarray(em.changeable_ems[i], dtype=np.float64)
        row = {
            "name": name,
            "mae": float(mae.maes[i]),
            "s_measure": float(sm.sms[i]),
            "weighted_f": float(wfm.weighted_fms[i]),
            "max_f": float(f_curve.max()),
            "mean_e": float(e_curve.mean()),
            "f_curve": f_curve.tolist(),
            "e_curve": e_curve.tolist(),
        }
        row.update({k: float(handlers[k].binary_results[i]) for k in _binary_handlers()})
        images.append(row)
    fm = fmv2.get_results()["f"]["dynamic"]
    dataset = {
        "count": len(names),
        "max_f": float(np.max(fm)),
        "mean_e": float(np.mean(em.get_results()["em"]["curve"])),
        "mae": float(mae.get_results()["mae"]),
        "s_measure": float(sm.get_results()["sm"]),
        "weighted_f": float(wfm.get_results()["wfm"]),
    }
    with open(out_path, "w", encoding="utf-8") as out:
        json.dump({"images": images, "dataset": dataset}, out)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: pysod_reference.py IN.npz OUT.json")
    main(sys.argv[1], sys.argv[2])
