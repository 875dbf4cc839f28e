"""How many jobs wait in the broker's queues, read straight from Redis.

Kombu's Redis transport keeps each queue as Redis lists: the queue's own name for priority 0
and `<name>\\x06\\x16<step>` for each further priority step (3, 6 and 9 by default), so a
queue's depth is the sum of LLEN over those keys. Kombu's own `Channel._size` does the same
but needs a broker connection and channel; the API only needs one pipelined round trip.
Messages a worker has taken but not acknowledged are not waiting and are not counted.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from shared.tasks import PROCESS_QUEUE

# kombu.transport.redis.Channel.sep and PRIORITY_STEPS (kombu 5.x).
PRIORITY_SEPARATOR = "\x06\x16"
PRIORITY_STEPS = (0, 3, 6, 9)
# The queues a submission adds to; a bulk queue would be listed here as well.
SUBMISSION_QUEUES: tuple[str, ...] = (PROCESS_QUEUE,)


def queue_keys(queue: str, steps: Iterable[int] = PRIORITY_STEPS) -> list[str]:
    """The Redis list keys kombu uses for `queue`, one per priority step."""
    return [queue if step == 0 else f"{queue}{PRIORITY_SEPARATOR}{step}" for step in steps]


def queue_depth(redis: Any, queues: Iterable[str] = SUBMISSION_QUEUES) -> int:
    """Messages waiting in `queues` (every priority step), in one pipelined round trip."""
    pipe = redis.pipeline(transaction=False)
    for queue in queues:
        for key in queue_keys(queue):
            pipe.llen(key)
    return sum(int(size) for size in pipe.execute())
