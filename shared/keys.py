"""API keys and the tenants they stand for, kept in Redis as hashes only.

A key is `ck_<id>_<secret>`: the id names the key in listings and logs, the secret is 256
random bits. Only the SHA-256 of the whole key is stored. A slow password hash (bcrypt,
argon2) buys nothing here: it protects guessable secrets, and these are random and long, so
one fast hash per request is enough and keeps lookups cheap.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import time
from dataclasses import asdict, dataclass

import redis

from shared.errors import InvalidOption, NotFound

KEYS_INDEX = "cutout:apikeys"  # hash: key id -> record (listing, revoking)
KEY_BY_HASH = "cutout:apikey:"  # + sha256 of the key -> record (lookup per request)
# Requests without a key when CUTOUT_AUTH=off; the leading underscore keeps it out of the
# names `cutout keys create` accepts, so no key can ever reach the anonymous tenant's jobs.
ANONYMOUS = "_anonymous"
TENANT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}")


@dataclass(frozen=True)
class ApiKey:
    """What a key grants: the tenant whose jobs, batches and results it may see."""

    id: str
    tenant: str
    created_at: float

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str | bytes) -> ApiKey:
        return cls(**json.loads(text))


def key_hash(key: str) -> str:
    """The stored form of a key."""
    return hashlib.sha256(key.encode()).hexdigest()


def check_tenant_name(name: str) -> str:
    """A tenant name, or InvalidOption saying what a name may hold."""
    if not TENANT_NAME.fullmatch(name):
        raise InvalidOption(
            f"tenant name {name!r}: 1-64 letters, digits, '_', '.', '@' or '-', "
            "starting with a letter or digit"
        )
    return name


class KeyStore:
    """Create, look up, list and revoke API keys."""

    def __init__(self, client: redis.Redis) -> None:
        self.redis = client

    def create(self, tenant: str) -> tuple[str, ApiKey]:
        """A new key for `tenant`; the key text is returned here once and never stored."""
        record = ApiKey(
            id=secrets.token_hex(4), tenant=check_tenant_name(tenant), created_at=time.time()
        )
        key = f"ck_{record.id}_{secrets.token_urlsafe(32)}"
        pipe = self.redis.pipeline()
        pipe.hset(KEYS_INDEX, record.id, json.dumps({**asdict(record), "hash": key_hash(key)}))
        pipe.set(KEY_BY_HASH + key_hash(key), record.to_json())
        pipe.execute()
        return key, record

    def lookup(self, key: str) -> ApiKey | None:
        """The record of a live key, or None for an unknown or revoked one."""
        raw = self.redis.get(KEY_BY_HASH + key_hash(key))
        return ApiKey.from_json(raw) if raw else None

    def list(self) -> list[ApiKey]:
        """Every live key, oldest first."""
        records = [json.loads(raw) for raw in self.redis.hvals(KEYS_INDEX)]
        keys = [ApiKey(r["id"], r["tenant"], r["created_at"]) for r in records]
        return sorted(keys, key=lambda k: k.created_at)

    def revoke(self, key_id: str) -> ApiKey:
        """Revoke a key by its id; its tenant's jobs stay, reachable by the tenant's other keys."""
        raw = self.redis.hget(KEYS_INDEX, key_id)
        if raw is None:
            raise NotFound(f"no API key with id {key_id!r}")
        record = json.loads(raw)
        pipe = self.redis.pipeline()
        pipe.hdel(KEYS_INDEX, key_id)
        pipe.delete(KEY_BY_HASH + record["hash"])
        pipe.execute()
        return ApiKey(record["id"], record["tenant"], record["created_at"])
