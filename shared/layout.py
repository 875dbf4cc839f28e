"""Parsing the framing and shadow option values a client writes as text.

Clients of remove.bg and Photoroom write sizes, fractions and offsets as text ("2000x2000",
"10%", "0.1", "12,18"); these turn such text into numbers and say what was wrong otherwise.
"""

from __future__ import annotations

import re
from typing import Any

# The largest canvas side: WebP's limit (16383) with room to spare, and what one worker can
# hold (a 25 MP canvas is the same size as the largest input).
MAX_CANVAS_SIDE = 10_000
MAX_CANVAS_PIXELS = 25_000_000
# Words the services use for "keep the input's own size / scale".
ORIGINAL = ("original", "originalimage")
_SIZE = re.compile(r"^\s*(\d+)\s*[x×X,]\s*(\d+)\s*$")
_OFFSET = re.compile(r"^\s*(-?\d+)\s*(?:px)?\s*[, ]\s*(-?\d+)\s*(?:px)?\s*$")


def parse_canvas(value: Any) -> tuple[int, int] | None:
    """(width, height) from "2000x2000", "2000" (a square), [w, h]; None for "original"."""
    if value is None or isinstance(value, str) and value.strip().lower() in ORIGINAL:
        return None
    if isinstance(value, tuple | list) and len(value) == 2:
        width, height = (int(v) for v in value)
    elif isinstance(value, int) or isinstance(value, str) and value.strip().isdigit():
        width = height = int(value)
    elif isinstance(value, str) and (match := _SIZE.match(value)):
        width, height = int(match[1]), int(match[2])
    else:
        raise ValueError(f"{value!r} is not a size; use WIDTHxHEIGHT, e.g. 2000x2000")
    if not (1 <= width <= MAX_CANVAS_SIDE and 1 <= height <= MAX_CANVAS_SIDE):
        raise ValueError(f"each side between 1 and {MAX_CANVAS_SIDE} pixels, not {width}x{height}")
    if width * height > MAX_CANVAS_PIXELS:
        raise ValueError(f"{width}x{height} is over {MAX_CANVAS_PIXELS // 1_000_000} megapixels")
    return width, height


def parse_fraction(value: Any) -> float | None:
    """A fraction from 0.1, "0.1" or "10%"; None for "original"."""
    if value is None or isinstance(value, str) and value.strip().lower() in ORIGINAL:
        return None
    if isinstance(value, str):
        text = value.strip()
        try:
            return float(text[:-1]) / 100 if text.endswith("%") else float(text)
        except ValueError as exc:
            raise ValueError(f"{value!r} is not a fraction; use 0.1 or 10%") from exc
    return float(value)


def parse_offset(value: Any) -> tuple[int, int] | None:
    """(x, y) pixels from "12,18", "12 18", "12px,18px" or [12, 18]; x right, y down."""
    if value is None:
        return None
    if isinstance(value, tuple | list) and len(value) == 2:
        return int(value[0]), int(value[1])
    if isinstance(value, str) and (match := _OFFSET.match(value)):
        return int(match[1]), int(match[2])
    raise ValueError(f"{value!r} is not an offset; use X,Y in pixels, e.g. 12,18")


def normalise_word(value: Any) -> Any:
    """Lower case, British "centre" read as "center" (both services spell it so)."""
    if isinstance(value, str):
        value = value.strip().lower()
        return "center" if value in ("centre", "middle") else value
    return value
