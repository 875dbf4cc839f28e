"""Reading URL lists and zips for batches (worker/expand.py), without Redis or Celery."""

from __future__ import annotations

import pytest

from shared.errors import InvalidArchive
from worker.expand import name_from_url, parse_url_list


def test_csv_with_a_header_names_items() -> None:
    raw = b"sku,url,name\n1,https://shop.test/a/red%20shoe.jpg,\n2,https://shop.test/b.png,back\n"
    assert parse_url_list(raw, "csv") == [
        ("https://shop.test/a/red%20shoe.jpg", "red shoe.jpg"),
        ("https://shop.test/b.png", "back"),
    ]


def test_csv_without_a_header_takes_the_first_column() -> None:
    raw = b"https://shop.test/a.jpg\nhttps://shop.test/b.jpg\n"
    assert [url for url, _ in parse_url_list(raw, "csv")] == [
        "https://shop.test/a.jpg",
        "https://shop.test/b.jpg",
    ]


def test_json_strings_objects_and_a_wrapping_object() -> None:
    raw = b'{"urls": ["https://shop.test/x.jpg", {"url": "https://shop.test/y", "name": "y1"}]}'
    assert parse_url_list(raw, "json") == [
        ("https://shop.test/x.jpg", "x.jpg"),
        ("https://shop.test/y", "y1"),
    ]


@pytest.mark.parametrize(("raw", "kind"), [(b"{not json", "json"), (b"\xff\xfe\x00", "csv")])
def test_unreadable_lists_are_invalid_archives(raw: bytes, kind: str) -> None:
    with pytest.raises(InvalidArchive):
        parse_url_list(raw, kind)


def test_a_url_without_a_path_is_named_after_its_host() -> None:
    assert name_from_url("https://images.shop.test/") == "images.shop.test"
