"""`best`'s edges on photos its constants were not chosen on: a 2-fold choice on AIM-500 dev.

    .venv/bin/python -m bench.edges_unseen [--eval-dir DIR] [--jobs 2]
    # writes bench/results/edges_unseen.json (about 15 minutes on 2 cores)

The AIM-500 dev photos are split into two halves by a hash of their names. Every candidate
of `bench.edge_candidates` (the refinement's constants around the shipped ones, and the
other methods: a 448 or 512 px run for the edge band, a mirrored run averaged in, a trimap
widened where the stage maps disagree) is scored on every photo beside `--compat rembg`.
On each half the candidate with the lowest sum of the two ratios to `--compat rembg`
(edge-band MAE and MAE, means over the half) is chosen, and reported on the other half. The
pooled figure scores every photo with the candidate chosen on the half it is not in.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from bench.edge_candidates import Candidate, candidates, score_photo
from bench.machine import machine_info
from cutout.evaluation import find_benchmarks
from shared.settings import get_settings

RESULT = Path(__file__).resolve().parent / "results" / "edges_unseen.json"
BASELINE = "--compat rembg"
SHIPPED = Candidate().name

Scores = dict[str, dict[str, tuple[float, float]]]  # photo -> method -> (edge MAE, MAE)


def half(stem: str) -> int:
    """0 or 1, fixed by the photo's name."""
    return int(hashlib.sha256(stem.encode()).hexdigest(), 16) % 2


def ratios(scores: Scores, method: str, photos: list[str]) -> tuple[float, float]:
    """Mean edge-band MAE and mean MAE of `method` over `photos`, over `--compat rembg`'s."""
    totals = [0.0, 0.0, 0.0, 0.0]
    for photo in photos:
        for i in range(2):
            totals[i] += scores[photo][method][i]
            totals[2 + i] += scores[photo][BASELINE][i]
    return totals[0] / totals[2], totals[1] / totals[3]


def choose(scores: Scores, photos: list[str], methods: list[str]) -> str:
    """The method with the lowest sum of the two ratios on `photos`."""
    return min(methods, key=lambda m: sum(ratios(scores, m, photos)))


def two_fold(scores: Scores, methods: list[str], shipped: str = SHIPPED) -> dict[str, Any]:
    """Choice on each half, its figures on both, and the pooled unseen figures."""
    halves = [[p for p in sorted(scores) if half(p) == h] for h in (0, 1)]
    folds, unseen = [], {}
    for train in (0, 1):
        test = halves[1 - train]
        chosen = choose(scores, halves[train], methods)
        unseen.update({p: scores[p][chosen] for p in test})
        folds.append(
            {
                "chosen_on_half": train,
                "chosen": chosen,
                "seen": _pair(ratios(scores, chosen, halves[train])),
                "unseen": _pair(ratios(scores, chosen, test)),
                "shipped_on_unseen": _pair(ratios(scores, shipped, test)),
            }
        )
    pooled = {p: {"pooled": unseen[p], BASELINE: scores[p][BASELINE]} for p in scores}
    return {
        "halves": [len(h) for h in halves],
        "folds": folds,
        "pooled_unseen": _pair(ratios(pooled, "pooled", sorted(scores))),
        "candidates": {
            m: {f"half{h}": _pair(ratios(scores, m, halves[h])) for h in (0, 1)} for m in methods
        },
    }


def _pair(values: tuple[float, float]) -> dict[str, float]:
    return {"edge_band_mae_ratio": round(values[0], 4), "mae_ratio": round(values[1], 4)}


def score_all(folder: Path, jobs: int) -> Scores:
    """Every photo of the AIM-500 benchmark under `folder`, scored by every candidate."""
    (benchmark,) = find_benchmarks(folder / "AIM-500")
    model_dir = get_settings().model_dir
    chosen = candidates()
    with ProcessPoolExecutor(jobs) as pool:
        futures = {
            image.stem: pool.submit(score_photo, image, mask, model_dir, chosen)
            for image, mask in benchmark.pairs
        }
        return {stem: future.result() for stem, future in futures.items()}


def main() -> None:
    default_dir = Path(os.environ.get("CUTOUT_EVAL_DIR", "../shared/eval")) / "dev"
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--eval-dir", type=Path, default=default_dir)
    parser.add_argument("--jobs", type=int, default=2, help="photos scored at once")
    args = parser.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    scores = score_all(args.eval_dir, args.jobs)
    methods = [c.name for c in candidates()]
    report = {"machine": machine_info(), "shipped": SHIPPED, **two_fold(scores, methods)}
    report["per_photo"] = scores
    RESULT.write_text(json.dumps(report, indent=1) + "\n")
    print(json.dumps({k: report[k] for k in ("shipped", "folds", "pooled_unseen")}, indent=1))


if __name__ == "__main__":
    main()
