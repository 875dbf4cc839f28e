"""rembg (plain and alpha_matting=True) against our pipeline on the AIM-500 dev images.

    bash bench/rembg_env.sh                          # once: .venv-bench with the real rembg
    .venv/bin/python bench/rembg_alpha_matting.py    # all: run each mode, then score

Each mode runs in its own fresh process (so peak RSS and start-up are its own): rembg's modes
in .venv-bench (`run`), ours in .venv (`run-ours`). Alphas go to
bench/results/rembg_alpha_matting/<mode>/<stem>.png with a run.json of timings; `score`
(in .venv, with shared.metrics) writes bench/results/rembg_aim500.json. rembg reads
u2netp.onnx from U2NET_HOME=.venv-bench/u2net, and the runs happen inside a network
namespace with no interfaces when `unshare -n` works, so nothing can be downloaded.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BENCH_PYTHON = ROOT / ".venv-bench" / "bin" / "python"
OUR_PYTHON = ROOT / ".venv" / "bin" / "python"
U2NET_HOME = ROOT / ".venv-bench" / "u2net"
RESULTS = ROOT / "bench" / "results" / "rembg_alpha_matting"
SUMMARY = ROOT / "bench" / "results" / "rembg_aim500.json"
REMBG_MODES = {"rembg_plain": False, "rembg_alpha_matting": True}
OURS = "cutout_default"


def dataset_dir() -> Path:
    """The AIM-500 dev folder (images/ and masks/) under CUTOUT_EVAL_DIR."""
    return Path(os.environ.get("CUTOUT_EVAL_DIR", ROOT.parent / "shared" / "eval")) / "dev/AIM-500"


def image_paths(limit: int | None) -> list[Path]:
    """The dataset's photos, sorted by name."""
    return sorted((dataset_dir() / "images").glob("*.jpg"))[:limit]


def peak_rss_mb() -> float:
    """This process's peak resident memory so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def clear_numba_cache() -> int:
    """Delete pymatting's on-disk numba cache, so the import compiles as on a first install."""
    spec = importlib.util.find_spec("pymatting")
    if spec is None or spec.origin is None:
        return 0
    files = [*Path(spec.origin).parent.rglob("*.nbi"), *Path(spec.origin).parent.rglob("*.nbc")]
    for path in files:
        path.unlink()
    return len(files)


def run_rembg(mode: str, limit: int | None, cold: bool) -> None:
    """Cut out every image with rembg in this process; save alphas and run.json."""
    os.environ["U2NET_HOME"] = str(U2NET_HOME)  # before rembg reads it
    cleared = clear_numba_cache() if cold else 0
    start = time.perf_counter()
    from PIL import Image
    from rembg import new_session, remove

    import_seconds = time.perf_counter() - start
    start = time.perf_counter()
    session = new_session("u2netp")
    session_seconds = time.perf_counter() - start
    out = RESULTS / mode
    out.mkdir(parents=True, exist_ok=True)
    seconds = {}
    for path in image_paths(limit):
        with Image.open(path) as img:
            img.load()
            start = time.perf_counter()
            cutout = remove(img, session=session, alpha_matting=REMBG_MODES[mode])
            seconds[path.stem] = time.perf_counter() - start
        cutout.getchannel("A").save(out / f"{path.stem}.png")
    write_run(out, seconds, import_seconds, session_seconds, cleared_cache_files=cleared)


def run_ours(limit: int | None) -> None:
    """Cut out every image with our default pipeline in this process; save alphas, run.json."""
    start = time.perf_counter()
    from shared.options import ProcessOptions
    from shared.settings import Settings
    from worker.pipeline.run import mask_image
    from worker.pipeline.timing import StageTimer

    import_seconds = time.perf_counter() - start
    settings, options = Settings(), ProcessOptions()
    out = RESULTS / OURS
    out.mkdir(parents=True, exist_ok=True)
    seconds = {}
    for path in image_paths(limit):
        start = time.perf_counter()
        masked = mask_image(path, options, settings=settings, timer=StageTimer())
        seconds[path.stem] = time.perf_counter() - start
        masked.alpha.save(out / f"{path.stem}.png")
    # Our session is created inside the first call, so session_seconds is part of it.
    write_run(out, seconds, import_seconds, session_seconds=None)


def write_run(
    out: Path, seconds: dict[str, float], import_s: float, session_seconds: Any, **extra: Any
) -> None:
    """Record the run's timings and peak RSS beside its alphas."""
    values = list(seconds.values())
    rest = values[1:] or values
    run = {
        "count": len(values),
        "import_seconds": round(import_s, 3),
        "session_seconds": None if session_seconds is None else round(session_seconds, 3),
        "first_call_seconds": round(values[0], 3),
        "seconds_per_image": {
            "median": round(statistics.median(rest), 3),
            "mean": round(statistics.fmean(rest), 3),
            "excludes": "the first call",
        },
        "peak_rss_mb": round(peak_rss_mb(), 1),
        # Wall times mean little on a busy machine: the load says how busy it was.
        "load_average_at_end": [round(v, 2) for v in os.getloadavg()],
        "per_image_seconds": {k: round(v, 3) for k, v in seconds.items()},
        **extra,
    }
    (out / "run.json").write_text(json.dumps(run, indent=2) + "\n")
    print(f"{out.name}: {run['count']} images, {run['seconds_per_image']}, {run['peak_rss_mb']} MB")


def score(note: str | None = None) -> None:
    """Score every mode's alphas against the soft GT; write the summary JSON."""
    import numpy as np

    from shared.metrics.aggregate import DatasetScores
    from shared.metrics.ground_truth import score_mask
    from shared.metrics.masks import load_ground_truth, load_prediction
    from shared.metrics.matting import score_matte, summarise_mattes

    modes: dict[str, Any] = {}
    for mode in (*REMBG_MODES, OURS):
        run = json.loads((RESULTS / mode / "run.json").read_text())
        masks, mattes = DatasetScores(), []
        for stem in run["per_image_seconds"]:
            pred = load_prediction(RESULTS / mode / f"{stem}.png")
            gt = load_ground_truth(dataset_dir() / "masks" / f"{stem}.png")
            masks.add(stem, score_mask(pred, gt))
            mattes.append(score_matte(pred, gt))
        per_image = run.pop("per_image_seconds")
        run["slowest_seconds"] = dict(sorted(per_image.items(), key=lambda kv: -kv[1])[:3])
        modes[mode] = {**run, "mask_scores": rounded(masks.summary().to_dict())}
        modes[mode]["matting_scores"] = rounded(summarise_mattes(mattes).to_dict())
    # rembg falls back to the plain mask when pymatting raises; identical alphas show it.
    same = [
        stem
        for stem in json.loads((RESULTS / "rembg_plain" / "run.json").read_text())[
            "per_image_seconds"
        ]
        if np.array_equal(
            load_prediction(RESULTS / "rembg_plain" / f"{stem}.png"),
            load_prediction(RESULTS / "rembg_alpha_matting" / f"{stem}.png"),
        )
    ]
    modes["rembg_alpha_matting"]["fell_back_to_plain_mask"] = same
    summary = {
        "dataset": "AIM-500 dev split (CUTOUT_EVAL_DIR/dev/AIM-500)",
        "rembg": "2.0.86 (u2netp), alpha-matting defaults: thresholds 240/10, erode 10",
        "command": ".venv/bin/python bench/rembg_alpha_matting.py",
        "cpus": os.cpu_count(),
        "note": note,
        "modes": modes,
    }
    SUMMARY.write_text(json.dumps(summary, indent=2) + "\n")
    print(json.dumps(summary, indent=2))


def rounded(values: dict[str, Any]) -> dict[str, Any]:
    """Floats to 4 decimals, for a readable JSON."""
    return {k: round(v, 4) if isinstance(v, float) else v for k, v in values.items()}


def offline_prefix() -> list[str]:
    """`unshare -n` when this user may make a network namespace: proof that nothing downloads."""
    try:
        subprocess.run(["unshare", "-n", "true"], check=True, capture_output=True)
    except (OSError, subprocess.CalledProcessError):
        print("unshare -n unavailable: running with the normal network", file=sys.stderr)
        return []
    return ["unshare", "-n"]


def run_all(limit: int | None, note: str | None) -> None:
    """Each mode in its own offline process (rembg's matting mode from a cold numba cache)."""
    if not BENCH_PYTHON.exists():
        sys.exit("missing .venv-bench: run bash bench/rembg_env.sh first")
    prefix, me, lim = offline_prefix(), str(Path(__file__).resolve()), limit_args(limit)
    env = {**os.environ, "U2NET_HOME": str(U2NET_HOME), "PYTHONPATH": str(ROOT)}
    for mode in REMBG_MODES:
        cold = ["--cold"] if mode == "rembg_alpha_matting" else []
        cmd = [*prefix, str(BENCH_PYTHON), me, "run", "--mode", mode, *cold, *lim]
        subprocess.run(cmd, check=True, env=env, cwd=ROOT)
    subprocess.run([*prefix, str(OUR_PYTHON), me, "run-ours", *lim], check=True, env=env, cwd=ROOT)
    score(note)


def limit_args(limit: int | None) -> list[str]:
    return [] if limit is None else ["--limit", str(limit)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "step", nargs="?", default="all", choices=["all", "run", "run-ours", "score"]
    )
    parser.add_argument("--mode", choices=list(REMBG_MODES), default="rembg_alpha_matting")
    parser.add_argument("--cold", action="store_true", help="clear pymatting's numba cache first")
    parser.add_argument("--limit", type=int, default=None, help="only the first N images")
    parser.add_argument("--note", help="a remark stored in the summary (score step)")
    args = parser.parse_args()
    if args.step == "run":
        run_rembg(args.mode, args.limit, args.cold)
    elif args.step == "run-ours":
        run_ours(args.limit)
    elif args.step == "score":
        score(args.note)
    else:
        run_all(args.limit, args.note)


if __name__ == "__main__":
    main()
