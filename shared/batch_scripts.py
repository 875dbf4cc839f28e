"""The Lua scripts that change a batch's counters (shared/batches.py), each one atomic step.

Redis runs a script alone, so no two changes of one batch interleave: the counters never
drift and a batch completes exactly once.
"""

# Shared by the scripts: completion (closed, nothing left to expand, every item ended), the
# opt-in progress event, and giving a set made late (after the last item was added, which
# set the others' expiry) the batch's remaining lifetime.
_FUNCTIONS = """
local function complete(batch, events, now)
  local h = redis.call('HMGET', batch, 'status', 'items', 'ended', 'pending_sources', 'id')
  if h[1] == 'closed' and tonumber(h[2]) == tonumber(h[3]) and tonumber(h[4]) == 0 then
    redis.call('HSET', batch, 'status', 'completed', 'completed_at', now)
    redis.call('RPUSH', events, cjson.encode({type='batch.completed', batch_id=h[5]}))
    return 1
  end
  return 0
end
local function progress(batch, events, now)
  local h = redis.call('HMGET', batch, 'progress_every', 'last_progress_at', 'status', 'id')
  local every = tonumber(h[1] or '0') or 0
  if every > 0 and h[3] ~= 'completed' and tonumber(now) - tonumber(h[2] or '0') >= every then
    redis.call('HSET', batch, 'last_progress_at', now)
    redis.call('RPUSH', events, cjson.encode({type='batch.progress', batch_id=h[4]}))
  end
end
local function expire_with(batch, key)
  local ttl = redis.call('TTL', batch)
  if ttl > 0 then redis.call('EXPIRE', key, ttl) end
end
"""

# KEYS: batch, ended set, events, started set. ARGV: job id, status, needs_review (0/1), now.
# An item that ends counts as started too (one canceled while queued never started), so
# started - ended is what is processing and items - started what waits in the queue.
ITEM_ENDED = (
    _FUNCTIONS
    + """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if redis.call('SADD', KEYS[2], ARGV[1]) == 0 then return 0 end
redis.call('HINCRBY', KEYS[1], 'ended', 1)
if redis.call('SADD', KEYS[4], ARGV[1]) == 1 then redis.call('HINCRBY', KEYS[1], 'started', 1) end
expire_with(KEYS[1], KEYS[2])
expire_with(KEYS[1], KEYS[4])
redis.call('HINCRBY', KEYS[1], 'count:' .. ARGV[2], 1)
if ARGV[3] == '1' then redis.call('HINCRBY', KEYS[1], 'needs_review', 1) end
redis.call('HSET', KEYS[1], 'last_ended_at', ARGV[4])
if complete(KEYS[1], KEYS[3], ARGV[4]) == 0 then progress(KEYS[1], KEYS[3], ARGV[4]) end
return 1
"""
)

# KEYS: batch, items list, ended set, started set. ARGV: job id, retention seconds.
ITEM_ADDED = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('RPUSH', KEYS[2], ARGV[1])
redis.call('HINCRBY', KEYS[1], 'items', 1)
for i = 1, 4 do redis.call('EXPIRE', KEYS[i], ARGV[2]) end
return 1
"""

# KEYS: batch, events. ARGV: now (also for SOURCE_DONE).
CLOSE = (
    _FUNCTIONS
    + """
if redis.call('HGET', KEYS[1], 'status') ~= 'open' then return -1 end
redis.call('HSET', KEYS[1], 'status', 'closed', 'closed_at', ARGV[1])
return complete(KEYS[1], KEYS[2], ARGV[1])
"""
)

SOURCE_DONE = (
    _FUNCTIONS
    + """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HINCRBY', KEYS[1], 'pending_sources', -1)
return complete(KEYS[1], KEYS[2], ARGV[1])
"""
)

CANCEL = """
local status = redis.call('HGET', KEYS[1], 'status')
if status == 'completed' or status == 'canceled' or not status then return 0 end
redis.call('HSET', KEYS[1], 'status', 'canceled', 'closed_at', ARGV[1])
return 1
"""

# KEYS: batch, started set, ended set. ARGV: job id, 1 (processing) or 0 (queued again).
ITEM_MOVED = (
    _FUNCTIONS
    + """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if redis.call('SISMEMBER', KEYS[3], ARGV[1]) == 1 then return 0 end
if ARGV[2] == '1' then
  if redis.call('SADD', KEYS[2], ARGV[1]) == 0 then return 0 end
  redis.call('HINCRBY', KEYS[1], 'started', 1)
  expire_with(KEYS[1], KEYS[2])
  return 1
end
if redis.call('SREM', KEYS[2], ARGV[1]) == 0 then return 0 end
redis.call('HINCRBY', KEYS[1], 'started', -1)
return 1
"""
)
