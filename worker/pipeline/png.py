"""A PNG writer for the pipeline's 8-bit pictures: SUB filter, ISA-L deflate, band by band.

Written here rather than taken from a PNG library because every encoder measured pairs the
format with a slower deflate or a full-size copy (`python -m bench.encode_levels`, RGBA
cutout of a 1024 px photo / of a 12 MP one): OpenCV's libpng with the SUB filter and RLE
30 / 321 ms, Pillow 63 / 542 ms at level 1; imagecodecs' libpng, libspng and APNG, tried
once, 47-102 / 516-1280 ms. The PNG container is small (signature, IHDR, IDAT, IEND; RFC
2083); the costly parts are left to libraries: numpy does the SUB filter and ISA-L
(python-isal) the deflate, 6 / 58 ms on two threads for the same file size.

Rows go through in bands of a quarter megabyte, so a 25 MP picture never needs a second
full-size copy, and the bands can be split among threads: each thread's part is its own
raw deflate stream ending on a byte boundary, and the parts joined in order are one valid
stream (the way pigz compresses in parallel).
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import BinaryIO

import numpy as np
from isal import isal_zlib
from PIL import Image

SIGNATURE = b"\x89PNG\r\n\x1a\n"
# PNG colour type and channels for each Pillow mode this writer takes.
COLOUR_TYPES: dict[str, tuple[int, int]] = {
    "L": (0, 1),
    "LA": (4, 2),
    "RGB": (2, 3),
    "RGBA": (6, 4),
}
SUB_FILTER = 1
BAND_BYTES = 1 << 18
# ISA-L offers levels 0-3; zlib-style levels above 3 are clamped to it.
ISAL_MAX_LEVEL = 3
# zlib stream header: deflate with a 32 KB window, "fastest" level flag; 0x7801 % 31 == 0.
ZLIB_HEADER = b"\x78\x01"
ADLER_BASE = 65521
# Below this many rows a second thread costs more than it saves.
MIN_ROWS_PER_THREAD = 256
# Above this size one thread writes: a second one keeps ~5 MB more (its malloc arena and the
# deflated half it holds back), and a 25 MP job has no such margin in a 512 MB worker
# (bench/memory.py: 448 against 445 MB for `best`, the target being 450).
PARALLEL_MAX_PIXELS = 16_000_000


def supports(picture: Image.Image) -> bool:
    """Whether this writer takes `picture` (8-bit grey or colour, with or without alpha)."""
    return picture.mode in COLOUR_TYPES


def _chunk(target: BinaryIO, kind: bytes, data: bytes) -> None:
    target.write(struct.pack(">I", len(data)))
    target.write(kind)
    target.write(data)
    target.write(struct.pack(">I", zlib.crc32(data, zlib.crc32(kind))))


def _sub_filtered(rows: np.ndarray, channels: int) -> np.ndarray:
    """Rows with PNG's SUB filter: each byte minus the one a pixel to its left (mod 256)."""
    height = rows.shape[0]
    flat = rows.reshape(height, -1)
    out = np.empty((height, flat.shape[1] + 1), np.uint8)
    out[:, 0] = SUB_FILTER
    out[:, 1 : 1 + channels] = flat[:, :channels]
    np.subtract(flat[:, channels:], flat[:, :-channels], out=out[:, 1 + channels :])
    return out


def adler32_combine(first: int, second: int, second_length: int) -> int:
    """The Adler-32 of two byte strings joined, from each one's checksum (zlib's
    adler32_combine, which neither Python's zlib nor python-isal exposes)."""
    rem = second_length % ADLER_BASE
    low = ((first & 0xFFFF) + (second & 0xFFFF) - 1) % ADLER_BASE
    high = (rem * (first & 0xFFFF) + (first >> 16) + (second >> 16) - rem) % ADLER_BASE
    return low | (high << 16)


@dataclass
class _Part:
    """One thread's rows as deflated so far, with the Adler-32 and length of its input."""

    write: Callable[[bytes], None]
    adler: int = 1
    length: int = 0


def _deflate_rows(
    picture: Image.Image, top: int, bottom: int, level: int, last: bool, part: _Part
) -> _Part:
    """Filter and deflate rows [top, bottom), handing the raw deflate to `part.write` as it
    comes out."""
    width = picture.width
    channels = COLOUR_TYPES[picture.mode][1]
    band_rows = max(1, BAND_BYTES // (width * channels))
    compressor = isal_zlib.compressobj(level, isal_zlib.DEFLATED, -15)
    for band_top in range(top, bottom, band_rows):
        band_bottom = min(bottom, band_top + band_rows)
        rows = np.asarray(picture.crop((0, band_top, width, band_bottom)))
        data = _sub_filtered(rows, channels).reshape(-1).data
        part.adler = isal_zlib.adler32(data, part.adler)
        part.length += len(data)
        part.write(compressor.compress(data))
    # A full flush ends the part on a byte boundary with no dictionary carried over, so the
    # next part's stream can follow it directly.
    part.write(compressor.flush(isal_zlib.Z_FINISH if last else isal_zlib.Z_FULL_FLUSH))
    return part


def write_png(picture: Image.Image, target: BinaryIO, level: int = 1, threads: int = 1) -> None:
    """Write `picture` (mode L, LA, RGB or RGBA) to `target` as a PNG.

    `level` is zlib's 0-9 (clamped to ISA-L's 0-3); `threads` splits the rows among that
    many threads (at most one per 256 rows, one above PARALLEL_MAX_PIXELS). The pixels are
    the same whatever the level or threads. The first part goes to `target` as it is
    deflated; the others wait in memory, deflated, until it is done.
    """
    colour_type, _ = COLOUR_TYPES[picture.mode]
    width, height = picture.size
    level = min(max(level, 0), ISAL_MAX_LEVEL)
    if width * height > PARALLEL_MAX_PIXELS:
        threads = 1
    count = max(1, min(threads, height // MIN_ROWS_PER_THREAD))
    cuts = [round(height * i / count) for i in range(count + 1)]

    def write_idat(data: bytes) -> None:
        if data:
            _chunk(target, b"IDAT", data)

    target.write(SIGNATURE)
    _chunk(target, b"IHDR", struct.pack(">IIBBBBB", width, height, 8, colour_type, 0, 0, 0))
    # One zlib stream over all IDAT chunks: its header first, the Adler-32 of all the
    # filtered rows last.
    write_idat(ZLIB_HEADER)
    held: list[list[bytes]] = [[] for _ in range(count)]
    parts = [_Part(write_idat if i == 0 else held[i].append) for i in range(count)]
    with ThreadPoolExecutor(max(1, count - 1)) as pool:
        futures = [
            pool.submit(
                _deflate_rows, picture, cuts[i], cuts[i + 1], level, i == count - 1, parts[i]
            )
            for i in range(1, count)
        ]
        _deflate_rows(picture, cuts[0], cuts[1], level, count == 1, parts[0])
        for future in futures:
            future.result()
    adler = 1
    for index, part in enumerate(parts):
        adler = adler32_combine(adler, part.adler, part.length)
        for data in held[index]:
            write_idat(data)
        held[index].clear()
    write_idat(struct.pack(">I", adler))
    _chunk(target, b"IEND", b"")
