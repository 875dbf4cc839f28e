"""End-to-end pipeline time per size, preset and format, side by side with rembg.

    .venv/bin/python -m bench.pipeline [--quick] [--sizes 1024 12mp] [--repeats N]

Ours runs in this process (steady state: one warm-up call per configuration first), timed
from JPEG bytes in memory to the encoded file in memory, with the pipeline's stage timings.
rembg runs in .venv-bench (bench/rembg_runner.py serve) on the same bytes: remove + PNG save.
Each round times rembg and every configuration once, in alternating order, so a busy machine
slows both sides alike; ratios are what to read, not absolute times. Peak memory comes from
one fresh process per configuration (`probe`, measured by run_child), so no number includes
another configuration's buffers. Writes bench/results/pipeline.json; render it with
`python -m bench.report`.

The default matrix (7-8 minutes on 2 busy cores) is every preset as PNG at every size, plus
WebP and JPEG (white background) at 1024 px, the size the targets are set at; fewer rounds at
the large sizes and for best (DEFAULT_SIZES, plan), then the first --eval-photos AIM-500
photos at their own sizes, fast and balanced, one call each.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.images import make
from bench.machine import load_average, machine_info
from bench.rembg_runner import RembgServer, probe_command, rembg_env, rembg_missing
from shared.options import ProcessOptions
from shared.settings import Settings, get_settings
from worker.models.cpu import usable_cpus
from worker.pipeline.run import default_loader, process

ROOT = Path(__file__).resolve().parent.parent
IMAGES = ROOT / "bench" / "images"
RESULTS = ROOT / "bench" / "results" / "pipeline.json"
PRESETS = ("fast", "balanced", "best")
STAGES = ("decode", "preprocess", "inference", "upscale", "refine", "metrics", "compose", "encode")
# Stages that are the model's work (inference) or a chosen extra (best's refinement); the
# rest is overhead the targets cap at 25% of end-to-end time.
MODEL_STAGES = ("inference", "refine")


@dataclass(frozen=True)
class Config:
    """One measured combination; `rounds` timed calls after one warm-up."""

    size: str
    preset: str
    fmt: str
    rounds: int

    def options(self) -> ProcessOptions:
        """The job options: a cutout, or for JPEG (no alpha) a white background."""
        mode = {"mode": "color", "bg_color": "#ffffff"} if self.fmt == "jpeg" else {}
        return ProcessOptions.parse({"preset": self.preset, "format": self.fmt, **mode})


def plan(sizes: dict[str, int], *, best_rounds: int, extra_formats_at: str) -> list[Config]:
    """Every preset as PNG per size (best capped), and WebP/JPEG at one size."""
    configs = []
    for size, rounds in sizes.items():
        formats = ("png", "webp", "jpeg") if size == extra_formats_at else ("png",)
        for preset in PRESETS:
            capped = min(rounds, best_rounds) if preset == "best" else rounds
            configs += [Config(size, preset, fmt, capped) for fmt in formats]
    return configs


DEFAULT_SIZES = {"512": 10, "1024": 10, "2048": 5, "12mp": 4, "25mp": 3}
QUICK_SIZES = {"1024": 3, "12mp": 1}


# ---- measuring ours -------------------------------------------------------------------------


class RecordingLoader:
    """The pipeline's own model loader, noting which engine served each model."""

    def __init__(self, settings: Settings) -> None:
        self._load = default_loader(settings)
        self.engines: dict[str, str | None] = {}

    def __call__(self, name: str) -> Any:
        model = self._load(name)
        self.engines[model.name] = getattr(model, "engine", None)
        return model


def run_ours(data: bytes, config: Config, settings: Settings, loader: RecordingLoader) -> dict:
    """One end-to-end call: its wall time, stage timings and method."""
    output = io.BytesIO()
    start = time.perf_counter()
    outcome = process(data, output, config.options(), settings=settings, load_model=loader)
    total = (time.perf_counter() - start) * 1000
    return {"ms": total, "stages": outcome.timings_ms, "method": outcome.method}


def spread(values: list[float]) -> dict[str, float | int]:
    """Median, min and max (to 0.1), and the count."""
    return {
        "median": round(statistics.median(values), 1),
        "min": round(min(values), 1),
        "max": round(max(values), 1),
        "n": len(values),
    }


def summarise(config: Config, calls: list[dict], loader: RecordingLoader) -> dict:
    """A result row from the timed calls of one configuration."""
    stages = {
        name: round(statistics.median(call["stages"].get(name, 0.0) for call in calls), 1)
        for name in STAGES
        if any(name in call["stages"] for call in calls)
    }
    shares = [
        1 - sum(call["stages"].get(name, 0.0) for name in MODEL_STAGES) / call["ms"]
        for call in calls
    ]
    method = calls[0]["method"]
    return {
        "preset": config.preset,
        "format": config.fmt,
        "method": method,
        "engine": loader.engines.get(method),
        "end_to_end_ms": spread([call["ms"] for call in calls]),
        "stages_ms": stages,
        "other_ms": round(statistics.median(c["ms"] - sum(c["stages"].values()) for c in calls), 1),
        "non_model_share": round(statistics.median(shares), 3),
    }


# ---- interleaved rounds ---------------------------------------------------------------------

Call = Callable[[], dict]


def interleave(
    calls: dict[str, Call], rounds: dict[str, int], *, warm_up: bool
) -> dict[str, list[dict]]:
    """Optionally one untimed call each, then rounds in alternating order (no fixed place)."""
    if warm_up:
        for call in calls.values():
            call()
    results: dict[str, list[dict]] = {key: [] for key in calls}
    for number in range(max(rounds.values(), default=0)):
        keys = [key for key in calls if number < rounds[key]]
        for key in reversed(keys) if number % 2 else keys:
            results[key].append(calls[key]())
    return results


def measure_image(
    image: Path,
    configs: list[Config],
    *,
    settings: Settings,
    loader: RecordingLoader,
    rembg: RembgServer | None,
    warm_up: bool = True,
) -> tuple[list[list[dict]], list[dict]]:
    """The timed calls of every configuration on `image`, and rembg's, interleaved."""
    data = image.read_bytes()
    calls: dict[str, Call] = {
        str(i): (lambda c=config: run_ours(data, c, settings, loader))
        for i, config in enumerate(configs)
    }
    rounds = {str(i): config.rounds for i, config in enumerate(configs)}
    if rembg is not None:
        calls["rembg"] = lambda: {"ms": rembg.cut_out(image)}
        rounds["rembg"] = max(rounds.values())
    results = interleave(calls, rounds, warm_up=warm_up)
    return [results[str(i)] for i in range(len(configs))], results.get("rembg", [])


def rembg_summary(calls: list[dict]) -> dict | None:
    """rembg's row part, when it ran."""
    return {"end_to_end_ms": spread([call["ms"] for call in calls])} if calls else None


# ---- peak memory: one fresh process per configuration ---------------------------------------


@dataclass
class ChildRun:
    """A finished child process: its stdout, wall time and peak resident memory."""

    stdout: str
    seconds: float
    peak_rss_mb: float
    returncode: int


# Run by a small interpreter between us and the measured command. A process exec'd straight
# from ours inherits our peak in its ru_maxrss (Linux keeps the pre-exec high-water mark,
# and subprocess forks with CLONE_VM), so a direct child would report at least this process's
# size. Forked from the launcher (about 10 MB), the command's ru_maxrss is its own.
LAUNCHER = """
import json, os, sys, time
start = time.perf_counter()
pid = os.fork()
if pid == 0:
    os.execvp(sys.argv[2], sys.argv[2:])
_, status, usage = os.wait4(pid, 0)
seconds = time.perf_counter() - start
with open(sys.argv[1], "w") as out:
    json.dump({"maxrss_kb": usage.ru_maxrss, "seconds": seconds}, out)
sys.exit(os.waitstatus_to_exitcode(status))
"""


def run_child(command: list[str], *, env: dict[str, str] | None = None) -> ChildRun:
    """Run `command` to the end: its stdout, its wall time and its own peak RSS."""
    with tempfile.TemporaryDirectory() as folder:
        usage_file = Path(folder) / "usage.json"
        child = subprocess.run(
            [sys.executable, "-c", LAUNCHER, str(usage_file), *command],
            capture_output=True,
            text=True,
            env=env,
            cwd=ROOT,
        )
        if child.returncode != 0:
            sys.stderr.write(f"{command[:4]}... failed:\n{child.stderr[-2000:]}\n")
        usage = json.loads(usage_file.read_text())
    return ChildRun(child.stdout, usage["seconds"], usage["maxrss_kb"] / 1024, child.returncode)


def probe_ours(image: Path, config: Config, runs: int = 2) -> float | None:
    """Peak RSS (MB) of a fresh process that runs `config` on `image` `runs` times."""
    command = [sys.executable, "-m", "bench.pipeline", "probe", str(image)]
    command += ["--preset", config.preset, "--format", config.fmt, "--runs", str(runs)]
    child = run_child(command)
    return round(child.peak_rss_mb, 1) if child.returncode == 0 else None


def probe_rembg(image: Path, runs: int = 2) -> float | None:
    """Peak RSS (MB) of a fresh rembg process doing the same."""
    child = run_child(probe_command(image, runs), env=rembg_env())
    return round(child.peak_rss_mb, 1) if child.returncode == 0 else None


def probe_main(image: Path, preset: str, fmt: str, runs: int) -> None:
    """The child side of probe_ours: run `runs` times, print the times as JSON."""
    settings = get_settings()
    loader = RecordingLoader(settings)
    config = Config("probe", preset, fmt, runs)
    data = image.read_bytes()
    times = [round(run_ours(data, config, settings, loader)["ms"], 1) for _ in range(runs)]
    # The peak is measured from outside (run_child); this is for reading by hand.
    print(json.dumps({"ms": times, "engines": loader.engines}))


# ---- one size, the eval photos, the targets -------------------------------------------------


def ratios(row: dict, theirs: dict | None) -> dict:
    """ours/rembg for time and peak memory, and rembg's time / ours as throughput."""
    if not theirs:
        return {"time": None, "throughput": None, "peak_rss": None}
    ours_ms, their_ms = row["end_to_end_ms"]["median"], theirs["end_to_end_ms"]["median"]
    ours_mb, their_mb = row.get("peak_rss_mb"), theirs.get("peak_rss_mb")
    return {
        "time": round(ours_ms / their_ms, 3),
        "throughput": round(their_ms / ours_ms, 2),
        "peak_rss": round(ours_mb / their_mb, 2) if ours_mb and their_mb else None,
    }


def bench_image(
    label: str,
    image: Path,
    configs: list[Config],
    *,
    settings: Settings,
    loader: RecordingLoader,
    rembg: RembgServer | None,
    probe: bool,
) -> list[dict]:
    """Rows for one image: times, stage medians, peak memory (when probed) and ratios."""
    ours, theirs = measure_image(image, configs, settings=settings, loader=loader, rembg=rembg)
    rows = [summarise(config, calls, loader) for config, calls in zip(configs, ours, strict=True)]
    rembg_row = rembg_summary(theirs)
    if probe:
        for row, config in zip(rows, configs, strict=True):
            row["peak_rss_mb"] = probe_ours(image, config)
        if rembg_row is not None:
            rembg_row["peak_rss_mb"] = probe_rembg(image)
    shown = str(image.relative_to(ROOT)) if image.is_relative_to(ROOT) else image.name
    for row in rows:
        row.update(size=label, image=shown, rembg=rembg_row)
        row["ratios"] = ratios(row, rembg_row)
        print(progress_line(row), flush=True)
    return rows


def eval_photos(limit: int) -> tuple[list[Path], str | None]:
    """The first `limit` AIM-500 photos in CUTOUT_EVAL_DIR, or why there are none."""
    folder = Path(os.environ.get("CUTOUT_EVAL_DIR", ROOT.parent / "shared" / "eval"))
    folder = folder / "dev" / "AIM-500" / "images"
    photos = sorted(folder.glob("*.jpg"))[:limit]
    return (photos, None) if photos else ([], f"no eval photos in {folder}: eval rows skipped")


def bench_eval(
    photos: list[Path],
    presets: Iterable[str],
    *,
    settings: Settings,
    loader: RecordingLoader,
    rembg: RembgServer | None,
) -> list[dict]:
    """Rows over real photos of their own sizes: each photo once per preset and by rembg.

    The spread is across photos; only the first photo gets a warm-up call.
    """
    configs = [Config("eval", preset, "png", 1) for preset in presets]
    ours: list[list[dict]] = [[] for _ in configs]
    theirs: list[dict] = []
    for index, photo in enumerate(photos):
        calls, rembg_calls = measure_image(
            photo, configs, settings=settings, loader=loader, rembg=rembg, warm_up=index == 0
        )
        for collected, new in zip(ours, calls, strict=True):
            collected += new
        theirs += rembg_calls
    rows = []
    for config, calls in zip(configs, ours, strict=True):
        row = summarise(config, calls, loader)
        row.update(size="eval", image=f"{len(photos)} AIM-500 photos", rembg=rembg_summary(theirs))
        row["ratios"] = ratios(row, row["rembg"])
        print(progress_line(row), flush=True)
        rows.append(row)
    return rows


TARGETS = [
    # (label, size, preset, minimum rembg-time / ours-time)
    ("1024 px JPEG to PNG cutout, fast: throughput vs rembg", "1024", "fast", 4.0),
    ("1024 px JPEG to PNG cutout, balanced: throughput vs rembg", "1024", "balanced", 1.75),
    ("12 MP JPEG to PNG cutout, fast: throughput vs rembg", "12mp", "fast", 2.0),
    ("12 MP JPEG to PNG cutout, balanced: throughput vs rembg", "12mp", "balanced", 2.0),
]
MAX_NON_MODEL_SHARE = 0.25


def targets(rows: list[dict]) -> list[dict]:
    """Pass/fail against the issue's targets (reported, never asserted)."""
    found = {(r["size"], r["preset"], r["format"]): r for r in rows}
    checks = []
    for label, size, preset, minimum in TARGETS:
        row = found.get((size, preset, "png"))
        value = throughput(row) if row and row["rembg"] else None
        checks.append(check(label, value, f">= {minimum}x", value is not None and value >= minimum))
    for preset in ("fast", "balanced"):
        row = found.get(("1024", preset, "png"))
        share = row["non_model_share"] if row else None
        label = f"1024 px, {preset}: non-model share of end-to-end time"
        ok = share is not None and share <= MAX_NON_MODEL_SHARE
        checks.append(check(label, share, f"<= {MAX_NON_MODEL_SHARE:.0%}", ok))
    return checks


def throughput(row: dict) -> float:
    """rembg's median time over ours, unrounded: a target met only by rounding is not met."""
    return row["rembg"]["end_to_end_ms"]["median"] / row["end_to_end_ms"]["median"]


def check(label: str, value: float | None, needed: str, ok: bool) -> dict:
    """One target's line; `pass` is None when the row was not measured in this run."""
    return {
        "target": label,
        "value": None if value is None else round(value, 3),
        "needed": needed,
        "pass": ok if value is not None else None,
    }


def progress_line(row: dict) -> str:
    ours, theirs = row["end_to_end_ms"]["median"], row["ratios"]["throughput"]
    vs = f", rembg/ours {theirs}x" if theirs else ""
    return f"{row['size']} {row['preset']} {row['format']}: {ours} ms{vs}"


# ---- machine, results -----------------------------------------------------------------------


def settings_info(settings: Settings) -> dict[str, Any]:
    """The settings that change the numbers (engine: the setting; rows say what ran)."""
    return {
        "engine": getattr(settings, "engine", None) or os.environ.get("CUTOUT_ENGINE"),
        "inference_threads": settings.inference_threads or usable_cpus(),
        "execution_provider": settings.execution_provider,
        "png_compress_level": settings.png_compress_level,
    }


def chosen_sizes(args: argparse.Namespace) -> dict[str, int]:
    """The sizes to run and their timed rounds, from --quick, --sizes and --repeats."""
    base = QUICK_SIZES if args.quick else DEFAULT_SIZES
    names = args.sizes or list(base)
    return {name: args.repeats or base.get(name, 1) for name in names}


def run(args: argparse.Namespace, settings: Settings) -> dict[str, Any]:
    """The whole benchmark as asked on the command line; returns the results document."""
    machine, notes = machine_info(), []
    sizes = chosen_sizes(args)
    configs = plan(sizes, best_rounds=2 if args.quick else 3, extra_formats_at="1024")
    photos, missing = eval_photos(args.eval_photos)
    unavailable = "--no-rembg: rembg not run" if args.no_rembg else rembg_missing()
    for note in filter(None, (unavailable, missing)):
        notes.append(note)
        print(note, file=sys.stderr)
    rembg = None if unavailable else RembgServer()
    loader, rows = RecordingLoader(settings), []
    try:
        for size in sizes:
            chosen = [config for config in configs if config.size == size]
            image = make(size, IMAGES)
            rows += bench_image(
                size, image, chosen, settings=settings, loader=loader, rembg=rembg, probe=args.probe
            )
        if photos:
            rows += bench_eval(
                photos, ("fast", "balanced"), settings=settings, loader=loader, rembg=rembg
            )
    finally:
        if rembg is not None:
            rembg.close()
    machine["load_average_at_end"] = load_average()
    return results_document(
        rows,
        machine=machine,
        settings=settings,
        engines=loader.engines,
        rembg_versions=rembg.versions if rembg else None,
        notes=notes,
    )


def results_document(
    rows: list[dict],
    *,
    machine: dict[str, Any],
    settings: Settings,
    engines: dict[str, str | None],
    rembg_versions: dict[str, str] | None,
    notes: list[str],
) -> dict[str, Any]:
    """What bench/results/pipeline.json holds (bench/report.py renders it)."""
    return {
        "command": " ".join(["python -m bench.pipeline", *sys.argv[1:]]),
        "machine": machine,
        "settings": settings_info(settings),
        "engines": engines,
        "rembg_versions": rembg_versions,
        "notes": notes,
        "rows": rows,
        "targets": targets(rows),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    steps = parser.add_subparsers(dest="step")
    probe_step = steps.add_parser("probe", help="(internal) one configuration, fresh process")
    probe_step.add_argument("image", type=Path)
    probe_step.add_argument("--preset", choices=PRESETS, default="balanced")
    probe_step.add_argument("--format", dest="fmt", default="png")
    probe_step.add_argument("--runs", type=int, default=2)
    parser.add_argument("--quick", action="store_true", help="1024 px and 12 MP, few rounds")
    parser.add_argument("--sizes", nargs="+", choices=list(DEFAULT_SIZES), help="only these")
    parser.add_argument("--repeats", type=int, help="timed rounds per size (overrides)")
    parser.add_argument("--eval-photos", type=int, default=None, help="AIM-500 photos (0: none)")
    parser.add_argument("--no-probe", dest="probe", action="store_false", help="no peak RSS")
    parser.add_argument("--no-rembg", action="store_true", help="ours only")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    if args.step == "probe":
        probe_main(args.image, args.preset, args.fmt, args.runs)
        return
    if args.eval_photos is None:
        args.eval_photos = 2 if args.quick else 12
    document = run(args, get_settings())
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(document, indent=2) + "\n")
    from bench.report import pipeline_tables

    print(pipeline_tables(document))


if __name__ == "__main__":
    main()
