"""The in-memory fake: what it records for assertions and how it plays an outage."""

from __future__ import annotations

import io
from collections.abc import Callable

import pytest

from shared.errors import StorageUnavailable
from shared.storage.memory import MemoryStorage


def test_records_values_and_content_types_for_assertions() -> None:
    storage = MemoryStorage()
    storage.put("outputs/j1/result.png", io.BytesIO(b"png"), content_type="image/png")

    assert storage.files == {"outputs/j1/result.png": b"png"}
    assert storage.content_types == {"outputs/j1/result.png": "image/png"}

    storage.delete_prefix("outputs/j1")
    assert storage.files == {} and storage.content_types == {}


def test_stores_a_copy_of_mutable_input() -> None:
    storage = MemoryStorage()
    data = bytearray(b"abc")
    storage.put("inputs/j1/original", data, content_type="image/jpeg")
    data[0] = ord("X")
    assert storage.get("inputs/j1/original") == b"abc"


@pytest.mark.parametrize(
    "call",
    [
        lambda storage: storage.put("k", b"x", content_type="text/plain"),
        lambda storage: storage.get("k"),
        lambda storage: storage.open("k"),
        lambda storage: storage.exists("k"),
        lambda storage: storage.size("k"),
        lambda storage: storage.url("k"),
        lambda storage: storage.delete("k"),
        lambda storage: storage.delete_prefix("k"),
        lambda storage: storage.ping(),
    ],
    ids=["put", "get", "open", "exists", "size", "url", "delete", "delete_prefix", "ping"],
)
def test_unavailable_makes_every_call_fail(call: Callable[[MemoryStorage], object]) -> None:
    storage = MemoryStorage()
    storage.put("k", b"x", content_type="text/plain")
    storage.unavailable = True
    with pytest.raises(StorageUnavailable):
        call(storage)
