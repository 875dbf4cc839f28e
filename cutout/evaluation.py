"""Run the pipeline over benchmark folders (images/ + masks/) and score it against the truth."""

from __future__ import annotations

import resource
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from shared.metrics.aggregate import DatasetScores
from shared.metrics.ground_truth import score_mask
from shared.metrics.masks import load_ground_truth
from shared.metrics.matting import MattingScores, MattingSummary, score_matte, summarise_mattes
from shared.options import ProcessOptions
from shared.settings import Settings
from worker.pipeline.run import mask_image
from worker.pipeline.timing import StageTimer

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp")


@dataclass
class Benchmark:
    """One folder of images with a ground-truth mask of the same stem under masks/."""

    name: str
    pairs: list[tuple[Path, Path]]


@dataclass
class BenchmarkResult:
    """One benchmark's scores, speed and the process's peak memory once it was done."""

    name: str
    scores: DatasetScores
    seconds_per_image: float
    methods: dict[str, int]
    mattes: list[MattingScores] = field(default_factory=list)
    peak_rss_mb: float | None = None

    def matting(self) -> MattingSummary:
        """Mean matte scores (SAD, MSE, gradient error, edge-band MAE) over the images."""
        return summarise_mattes(self.mattes)

    def to_dict(self) -> dict[str, Any]:
        """The summary as JSON-ready values; matte scores sit beside the mask scores."""
        matting = self.matting()
        return {
            **self.scores.summary().to_dict(),
            "edge_band_mae": matting.edge_band_mae,
            "sad": matting.sad,
            "mse": matting.mse,
            "grad": matting.grad,
            "soft_ground_truth": matting.soft_ground_truth,
            "seconds_per_image": round(self.seconds_per_image, 4),
            "peak_rss_mb": self.peak_rss_mb,
            "methods": self.methods,
        }


def _pairs(folder: Path, limit: int | None) -> list[tuple[Path, Path]]:
    images = sorted(p for p in (folder / "images").iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    pairs = [(image, folder / "masks" / f"{image.stem}.png") for image in images]
    return [pair for pair in pairs if pair[1].is_file()][:limit]


def find_benchmarks(root: Path, limit: int | None = None) -> list[Benchmark]:
    """`root` itself if it holds images/ and masks/, else each such folder directly under it."""

    def is_benchmark(folder: Path) -> bool:
        return (folder / "images").is_dir() and (folder / "masks").is_dir()

    folders = [root] if is_benchmark(root) else sorted(p for p in root.iterdir() if is_benchmark(p))
    return [Benchmark(folder.name, _pairs(folder, limit)) for folder in folders]


def evaluate(
    benchmark: Benchmark,
    options: ProcessOptions,
    settings: Settings,
    on_image: Callable[[], None] = lambda: None,
) -> BenchmarkResult:
    """Mask every image of `benchmark` with the pipeline and score it."""
    scores, methods, seconds = DatasetScores(), dict[str, int](), 0.0
    mattes: list[MattingScores] = []
    for image, mask_path in benchmark.pairs:
        start = time.perf_counter()
        masked = mask_image(image, options, settings=settings, timer=StageTimer())
        seconds += time.perf_counter() - start
        alpha, truth = np.asarray(masked.alpha), load_ground_truth(mask_path)
        scores.add(image.stem, score_mask(alpha, truth))
        mattes.append(score_matte(alpha, truth))
        methods[masked.method] = methods.get(masked.method, 0) + 1
        on_image()
    per_image = seconds / max(1, len(benchmark.pairs))
    # ru_maxrss only grows: this is the peak of the run so far, which this benchmark may set.
    return BenchmarkResult(
        benchmark.name, scores, per_image, methods, mattes, round(peak_rss_mb(), 1)
    )


def peak_rss_mb() -> float:
    """This process's peak resident memory so far, in MB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
