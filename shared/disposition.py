"""Content-Disposition headers that name a file any client can parse (RFC 6266 and 5987)."""

from __future__ import annotations

from typing import Literal
from urllib.parse import quote


def content_disposition(filename: str, kind: Literal["inline", "attachment"] = "inline") -> str:
    """A one-line header naming `filename`: control characters (a newline would end the
    header) and path separators dropped or replaced, an ASCII `filename` for every client and
    the exact name as UTF-8 `filename*` where they differ.

    `inline`, as when the API streams an image itself: browsers show it, and saving it still
    proposes `filename`; `attachment` for archives and reports, which are only saved.
    """
    name = "".join(ch for ch in filename if ch.isprintable()).replace("/", "_").replace("\\", "_")
    name = name or "download"
    fallback = "".join(ch if ch.isascii() and ch != '"' else "_" for ch in name)
    header = f'{kind}; filename="{fallback}"'
    if fallback != name:
        header += f"; filename*=UTF-8''{quote(name, safe='')}"
    return header
