"""Content-Disposition headers: one safe header line whatever the file or batch name."""

from __future__ import annotations

import pytest

from shared.disposition import content_disposition


@pytest.mark.parametrize(
    ("filename", "header"),
    [
        ("result.png", 'inline; filename="result.png"'),
        ('a"b.png', "inline; filename=\"a_b.png\"; filename*=UTF-8''a%22b.png"),
        ("x\r\nSet-Cookie: y.png", 'inline; filename="xSet-Cookie: y.png"'),
        ("../../etc/passwd", 'inline; filename=".._.._etc_passwd"'),
        ("", 'inline; filename="download"'),
    ],
)
def test_content_disposition_is_always_one_safe_header(filename: str, header: str) -> None:
    assert content_disposition(filename) == header


def test_an_attachment_with_a_name_from_the_user_is_one_safe_header() -> None:
    header = content_disposition("spring\n日本-results.zip", "attachment")
    assert header == (
        'attachment; filename="spring__-results.zip"; '
        "filename*=UTF-8''spring%E6%97%A5%E6%9C%AC-results.zip"
    )
    assert header.isascii() and "\n" not in header
