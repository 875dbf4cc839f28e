"""bench/workers.py's projection: C cores / CPU seconds per image, times measured efficiency."""

from __future__ import annotations

from bench.workers import projections


def row(workers: int, images_per_s: float, cpu_per_image: float) -> dict[str, float]:
    return {
        "workers": workers,
        "images_per_s": images_per_s,
        "cpu_seconds_per_image": cpu_per_image,
    }


def test_projection_uses_the_best_run_and_its_efficiency() -> None:
    rows = [row(1, 2.0, 0.8), row(2, 2.4, 0.75), row(3, 2.2, 0.8)]
    found = projections(rows, cores=2)
    assert found["from_workers"] == 2
    assert found["images_per_core_second"] == round(1 / 0.75, 2)
    efficiency = 2.4 / (2 / 0.75)
    assert found["efficiency_on_this_machine"] == round(efficiency, 2)
    assert found["images_per_s"]["2"] == 2.4
    assert found["images_per_s"]["8"] == round(8 / 0.75 * efficiency, 1)
    assert found["ceiling_images_per_s"]["4"] == round(4 / 0.75, 1)
