"""API keys on fakeredis: stored as hashes only, looked up, listed and revoked."""

from __future__ import annotations

import fakeredis
import pytest

from shared.errors import InvalidOption, NotFound
from shared.keys import ANONYMOUS, KeyStore, key_hash


@pytest.fixture
def keys() -> KeyStore:
    return KeyStore(fakeredis.FakeRedis())


def test_a_created_key_finds_its_tenant(keys: KeyStore) -> None:
    key, record = keys.create("acme")
    assert key.startswith(f"ck_{record.id}_") and len(key) > 40
    assert keys.lookup(key) == record and record.tenant == "acme"
    assert keys.lookup(key + "x") is None and keys.lookup("") is None


def test_only_the_hash_is_stored(keys: KeyStore) -> None:
    key, _ = keys.create("acme")
    stored = b"".join(
        keys.redis.dump(name) or b""
        for name in keys.redis.keys("*")  # every value, raw
    ) + b"".join(keys.redis.keys("*"))
    assert key.encode() not in stored and key_hash(key).encode() in stored


def test_list_and_revoke(keys: KeyStore) -> None:
    first, a = keys.create("acme")
    second, b = keys.create("acme")
    assert [k.id for k in keys.list()] == [a.id, b.id]
    assert keys.revoke(a.id) == a
    assert keys.lookup(first) is None and keys.lookup(second) == b
    assert [k.id for k in keys.list()] == [b.id]
    with pytest.raises(NotFound):
        keys.revoke(a.id)


@pytest.mark.parametrize("name", ["", ANONYMOUS, "has space", "x" * 65, "../etc", "é"])
def test_tenant_names_are_checked(keys: KeyStore, name: str) -> None:
    with pytest.raises(InvalidOption, match="tenant name"):
        keys.create(name)
