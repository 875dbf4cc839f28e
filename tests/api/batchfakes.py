"""A queue that keeps every task with its priority and runs them like one worker would."""

from __future__ import annotations

import heapq
import io
import itertools
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from shared.batches import BatchStore
from shared.batchitems import ItemMaker
from shared.tasks import BULK_PRIORITY, COPY_TASK, EXPAND_TASK, PROCESS_QUEUE, PROCESS_TASK
from tests.api.conftest import Api, RecordingQueue
from worker.expand import Limits, expand_source
from worker.jobrunner import run_job
from worker.resultcopy import CopyOutcome, copy_result


@dataclass
class PriorityQueue(RecordingQueue):
    """Tasks in a heap by (priority, order sent), as the Redis priority lists give them."""

    tasks: list[tuple[int, int, str, list[Any]]] = field(default_factory=list)
    ran: list[tuple[str, list[Any]]] = field(default_factory=list)
    _order: Any = field(default_factory=itertools.count)

    queues: list[str] = field(default_factory=list)

    def send(self, job_id: str, queue: str = PROCESS_QUEUE) -> None:
        super().send(job_id, queue)
        self.send_task(PROCESS_TASK, [job_id], 0, queue)

    def send_task(
        self, name: str, args: list[Any], priority: int, queue: str = PROCESS_QUEUE
    ) -> None:
        self.queues.append(queue)
        if self.down:
            super().send(args[0])  # raises QueueUnavailable
        heapq.heappush(self.tasks, (priority, next(self._order), name, args))


@dataclass
class Worker:
    """Runs the queued tasks in priority order with the real task bodies (no Celery)."""

    api: Api
    queue: PriorityQueue
    fetch: Callable[[str], bytes]
    limits: Limits = field(default_factory=lambda: Limits(1000, 10**9))

    def maker(self) -> ItemMaker:
        return ItemMaker(
            store=self.api.store,
            batches=BatchStore(self.api.store.redis, retention_seconds=600),
            storage=self.api.storage,
            send=self.queue.send_task,
            max_bytes=self.api.settings.max_upload_bytes,
            max_megapixels=self.api.settings.max_megapixels,
        )

    def run_all(self, limit: int = 10_000) -> int:
        ran = 0
        while self.queue.tasks and ran < limit:
            _, _, name, args = heapq.heappop(self.queue.tasks)
            self.queue.ran.append((name, args))
            self._run(name, args)
            ran += 1
        return ran

    def _run(self, name: str, args: list[Any]) -> None:
        api = self.api
        if name == PROCESS_TASK:
            run_job(
                args[0],
                store=api.store,
                storage=api.storage,
                settings=api.settings,
                worker_name="inline",
            )
        elif name == EXPAND_TASK:
            expand_source(
                *args,
                maker=self.maker(),
                limits=self.limits,
                fetch=self.fetch,
                send=self.queue.send_task,
            )
        elif name == COPY_TASK:
            outcome = copy_result(
                args[0], store=api.store, storage=api.storage, worker_name="inline", max_attempts=3
            )
            if outcome is CopyOutcome.WAIT:
                self.queue.send_task(COPY_TASK, args, BULK_PRIORITY + 1)
            elif outcome is CopyOutcome.PROCESS:
                self.queue.send_task(PROCESS_TASK, args, BULK_PRIORITY)


def zip_of(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()
