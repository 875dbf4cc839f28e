"""How many of a batch's items are processing now, kept as jobs move.

`JobStore.update` calls `queue_job_moved` inside the MULTI of every change to a batch item
that leaves it unfinished: a job that starts processing joins the batch's started set, one
sent back to the queue (a retry, a job the reaper re-sends) leaves it. An item that ends joins
it too (shared/batches.py), so `started - ended` items are processing and `items - started`
wait in the queue. Set membership makes repeated calls no-ops, so the count cannot drift.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from shared.batches import keys

if TYPE_CHECKING:
    from shared.jobs import Job

# KEYS: batch, started set, ended set. ARGV: job id, 1 (processing) or 0 (queued again).
_MOVED = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if redis.call('SISMEMBER', KEYS[3], ARGV[1]) == 1 then return 0 end
if ARGV[2] == '1' then
  if redis.call('SADD', KEYS[2], ARGV[1]) == 0 then return 0 end
  redis.call('HINCRBY', KEYS[1], 'started', 1)
  local ttl = redis.call('TTL', KEYS[1])
  if ttl > 0 then redis.call('EXPIRE', KEYS[2], ttl) end
  return 1
end
if redis.call('SREM', KEYS[2], ARGV[1]) == 0 then return 0 end
redis.call('HINCRBY', KEYS[1], 'started', -1)
return 1
"""


def queue_job_moved(pipe: Any, job: Job) -> None:
    """Inside the MULTI that changes an unfinished `job`: count it processing or queued."""
    if job.batch_id is None or job.status.is_terminal():
        return
    k = keys(job.batch_id)
    processing = "1" if job.status.value == "processing" else "0"
    pipe.eval(_MOVED, 3, k["batch"], k["started"], k["ended"], job.id, processing)
