"""A consumer bootstep that touches the worker's liveness file from the consumer's event loop.

The touch is scheduled on the consumer's timer, which the event loop itself runs: if the
loop hangs, the file goes stale and `python -m worker.probe live` fails. A thread would
keep touching through a hung loop. A job in progress does not stop the loop (the job runs
in a pool child).
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

from celery import bootsteps

from shared.settings import get_settings
from worker.probe import alive_path


class LivenessFile(bootsteps.StartStopStep):
    """Touch alive_path(node) every heartbeat interval while the consumer runs."""

    requires = ("celery.worker.consumer.tasks:Tasks",)

    def __init__(self, parent: Any, **kwargs: Any) -> None:
        super().__init__(parent, **kwargs)
        self.path: Path | None = None
        self.timer_entry: Any = None

    def start(self, parent: Any) -> None:
        self.path = alive_path(parent.hostname)
        interval = get_settings().heartbeat_seconds
        with contextlib.suppress(OSError):  # the probe reads the interval from the file
            self.path.write_text(f"{interval:g}")
        self.timer_entry = parent.timer.call_repeatedly(interval, self._touch)

    def _touch(self) -> None:
        if self.path is not None:
            with contextlib.suppress(OSError):  # a full /tmp must not stop the consumer
                self.path.touch()

    def stop(self, parent: Any) -> None:
        if self.timer_entry is not None:
            self.timer_entry.cancel()
            self.timer_entry = None

    def shutdown(self, parent: Any) -> None:
        self.stop(parent)
        if self.path is not None:
            self.path.unlink(missing_ok=True)
