"""Where a job's task goes: one rule for the API, batch items and the reaper's re-sends.

- the task: a deduplicated batch item first waits for its original's result (COPY_TASK);
- the queue: the smallest size class that holds the image (shared/capacity.py), so only a
  worker whose memory holds it takes it;
- the priority: single jobs before batch items (shared/tasks.py), so a catalog never holds
  up an interactive request by more than the job already running.
"""

from __future__ import annotations

from dataclasses import dataclass

from shared import capacity
from shared.jobs import Job
from shared.tasks import (
    BULK_PRIORITY,
    COPY_TASK,
    INTERACTIVE_PRIORITY,
    PROCESS_QUEUE,
    PROCESS_TASK,
)


@dataclass(frozen=True)
class Route:
    task: str
    queue: str
    priority: int


def route(job: Job) -> Route:
    """The task, queue and priority that `job` is sent with (and re-sent with)."""
    task = COPY_TASK if job.deduplicated_from else PROCESS_TASK
    sized = "width" in job.input and "height" in job.input
    queue = capacity.queue_for_input(job.input) if sized else PROCESS_QUEUE
    priority = BULK_PRIORITY if job.batch_id else INTERACTIVE_PRIORITY
    return Route(task, queue, priority)
