"""One job, start to finish, with its dependencies passed in (testable without Celery).

Model and input failures become job data (`failed` with a code), and so does running out of
memory (`out_of_memory`); storage and Redis outages propagate so the Celery task can retry
them, and so does a soft time limit (the task fails the job as `timeout`).
"""

from __future__ import annotations

import io
import logging
import resource
import tempfile
from typing import Any, BinaryIO, cast

import numpy as np
from PIL import Image

from shared.errors import CutoutError, InvalidImage, StorageUnavailable
from shared.jobs import Job, JobStore, Status
from shared.options import ProcessOptions
from shared.settings import Settings
from shared.storage import Storage
from shared.tasks import storage_keys
from worker.inputs import background_image, truth_mask
from worker.models.cpu import thread_count
from worker.pipeline.encode import EXTENSIONS, MEDIA_TYPES, encode, encode_png
from worker.pipeline.run import Outcome, make_picture
from worker.pipeline.segment import ModelLoader
from worker.pipeline.timing import StageTimer

log = logging.getLogger(__name__)
# Encoded results stay in memory up to this size and spill to a temporary file above it,
# so a 25 MP PNG does not add 40 MB to the worker's peak.
SPOOL_BYTES = 8 * 1024 * 1024


def peak_rss_mb() -> float:
    """This process's peak resident memory so far (Linux reports KiB)."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def _background(storage: Storage, job: Job, settings: Settings) -> Image.Image | None:
    if "background" not in job.files:
        return None
    data = storage.get(job.files["background"])
    return background_image(data, max_megapixels=settings.max_megapixels)


def _ground_truth_scores(
    storage: Storage, job: Job, mask: Image.Image, settings: Settings
) -> dict[str, float]:
    # Imported here: the ground-truth scores pull in scipy (~45 MB resident), which only
    # /evaluate jobs need; every other job runs without it.
    from shared.metrics.ground_truth import score_mask

    data = storage.get(job.files["truth"])
    truth = truth_mask(data, max_megapixels=settings.max_megapixels)
    if truth.shape != (mask.height, mask.width):
        raise InvalidImage(
            f"the mask is {truth.shape[1]}x{truth.shape[0]} but the image is "
            f"{mask.width}x{mask.height}"
        )
    return score_mask(np.asarray(mask), truth).scalars()


def _store_outputs(
    storage: Storage,
    job_id: str,
    picture: Image.Image,
    outcome: Outcome,
    options: ProcessOptions,
    settings: Settings,
    timer: StageTimer,
) -> dict[str, dict[str, Any]]:
    keys = storage_keys(job_id)
    fmt = options.output_format
    threads = thread_count(settings.inference_threads)
    result_key = f"{keys['result']}.{EXTENSIONS[fmt]}"
    with tempfile.SpooledTemporaryFile(SPOOL_BYTES) as spooled:
        spool = cast(BinaryIO, spooled)  # a file object in every way typeshed does not say
        with timer.stage("encode"):
            encode(
                picture,
                spool,
                fmt,
                quality=options.quality,
                png_compress_level=settings.png_compress_level,
                threads=threads,
            )
        size = spool.tell()
        spool.seek(0)
        with timer.stage("store"):
            storage.put(result_key, spool, content_type=MEDIA_TYPES[fmt])
    mask_file = io.BytesIO()
    with timer.stage("encode"):
        encode_png(outcome.mask, mask_file, settings.png_compress_level, threads)
    with timer.stage("store"):
        storage.put(keys["mask"], mask_file.getvalue(), content_type="image/png")
    return {
        "result": {
            "key": result_key,
            "media_type": MEDIA_TYPES[fmt],
            "bytes": size,
            "width": picture.width,
            "height": picture.height,
            "foreground": outcome.foreground,
        },
        "mask": {
            "key": keys["mask"],
            "media_type": "image/png",
            "bytes": mask_file.tell(),
            "width": outcome.mask.width,
            "height": outcome.mask.height,
        },
    }


def run_job(
    job_id: str,
    *,
    store: JobStore,
    storage: Storage,
    settings: Settings,
    worker_name: str,
    load_model: ModelLoader | None = None,
    task_id: str | None = None,
) -> Job | None:
    """Process one queued job; returns its final record (None if it no longer exists)."""
    job = store.start(
        job_id, worker=worker_name, max_attempts=settings.max_attempts, task_id=task_id
    )
    replaced = task_id is not None and job is not None and job.task_id != task_id
    if job is None or job.status is not Status.PROCESSING or replaced:
        why = "gone" if job is None else f"{job.status}, task {job.task_id} (not {task_id})"
        log.info("job %s not processed: %s", job_id, why)
        return job
    timer = StageTimer()
    details = {"timings_ms": timer.milliseconds}
    try:
        options = ProcessOptions.parse(job.options)
        with timer.stage("fetch"):
            source = storage.get(job.files["original"])
            background = _background(storage, job, settings)
        picture, outcome = make_picture(
            source,
            options,
            settings=settings,
            load_model=load_model,
            background=background,
            timer=timer,
        )
        del source
        outputs = _store_outputs(storage, job_id, picture, outcome, options, settings, timer)
        metrics: dict[str, Any] = {"proxy": outcome.proxy.to_dict()}
        if "truth" in job.files:
            metrics["ground_truth"] = _ground_truth_scores(storage, job, outcome.mask, settings)
    except StorageUnavailable:
        raise
    except CutoutError as exc:
        worker = {"name": worker_name, "peak_rss_mb": peak_rss_mb()}
        return store.fail(job_id, exc.code, exc.message, worker=worker, **details)
    except MemoryError:
        # Not the model's failure (no GrabCut "success" instead): the image needs more memory
        # than this worker has. Everything the job allocated is garbage by now.
        worker = {"name": worker_name, "peak_rss_mb": peak_rss_mb()}
        message = "the worker ran out of memory on this image; try a smaller one"
        return store.fail(job_id, "out_of_memory", message, worker=worker, **details)

    def record(finished: Job) -> None:
        finished.outputs, finished.metrics, finished.method = outputs, metrics, outcome.method
        finished.timings_ms = timer.milliseconds
        finished.warnings = [*finished.warnings, *outcome.warnings]
        finished.worker = {
            "name": worker_name,
            "engine": outcome.engine,
            "peak_rss_mb": peak_rss_mb(),
        }

    final = store.succeed(job_id, record)
    if final is None or final.status is Status.CANCELED:
        # Canceled, deleted or expired while it ran: nobody can ask for these outputs.
        keys = storage_keys(job_id)
        storage.delete_prefix(keys["prefix_outputs"])
        if final is None:
            storage.delete_prefix(keys["prefix_inputs"])
    return final
