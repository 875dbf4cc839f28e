"""Which errors inside an inference engine are the model's, and which are not.

The engines raise untyped errors, so `predict` catches broadly and reports an
`InferenceFailed` (the pipeline then may fall back to GrabCut). Two things are never the
model's fault and must not be turned into a fallback "success": the job's time running out
(Celery's soft time limit) and memory running out. They fail the job as `timeout` and
`out_of_memory` instead.
"""

from __future__ import annotations

from billiard.exceptions import SoftTimeLimitExceeded

from shared.errors import CutoutError, InferenceFailed, OutOfMemory

# Raised through `predict` untouched.
NOT_MODEL_FAILURES: tuple[type[BaseException], ...] = (MemoryError, SoftTimeLimitExceeded)
# How onnxruntime and OpenVINO say that an allocation failed (they raise RuntimeError).
_ALLOCATION_FAILURES = ("failed to allocate memory", "bad_alloc", "out of memory")


def model_failure(name: str, detail: str) -> CutoutError:
    """The error for an engine's exception text: out of memory, or the model's failure."""
    if any(text in detail.lower() for text in _ALLOCATION_FAILURES):
        return OutOfMemory(f"{name} ran out of memory on this image ({detail})")
    return InferenceFailed(f"{name} failed on this image: {detail}")
