"""A corpus of hand-made bad (or merely awkward) image files, built in code, never committed.

Each `BadFile` says what the API answers for it (status and error code, or 202 for files whose
header is fine) and, for those that pass the header check, how the worker's decoder ends:
`None` when it decodes (the file is awkward, not bad), else the job's stable error code.
"""

from __future__ import annotations

import gzip
import io
import struct
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from PIL import Image

from tests.conftest import encoded, subject_photo


@dataclass(frozen=True)
class BadFile:
    name: str
    filename: str
    make: Callable[[], bytes]
    status: int  # what POST /v1/jobs answers
    code: str | None  # its error code (None with 202)
    decoded: str | None = None  # the job's error code from the decoder, None = decodes


def _photo(fmt: str = "JPEG", size: tuple[int, int] = (120, 90), **params: object) -> bytes:
    return encoded(subject_photo(*size), fmt, **params)


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(kind + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


def png_claiming(width: int, height: int) -> bytes:
    """A valid PNG signature and IHDR for `width` x `height`, with one tiny IDAT."""
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 16)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", idat)
        + _png_chunk(b"IEND", b"")
    )


def png_bomb(side: int) -> bytes:
    """A real grey PNG of side x side pixels, all zero: a few KB that decode to side**2 bytes."""
    rows = zlib.compressobj(9)
    body = b"".join(rows.compress(b"\x00" * (side + 1)) for _ in range(side)) + rows.flush()
    header = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", body)
        + _png_chunk(b"IEND", b"")
    )


def zip_bomb() -> bytes:
    """A zip of 20 MB of zeros (about 20 KB on the wire), named like a picture."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("photo.png", b"\x00" * 20_000_000)
    return buffer.getvalue()


def gzip_of_png() -> bytes:
    """A PNG gzipped, as a client that compresses uploads by itself might send it."""
    return gzip.compress(_photo("PNG"))


def truncated(data: bytes, keep: float) -> bytes:
    return data[: int(len(data) * keep)]


def animated(fmt: str) -> bytes:
    frames = [subject_photo(80, 60), Image.new("RGB", (80, 60), (10, 200, 30))]
    buffer = io.BytesIO()
    frames[0].save(buffer, fmt, save_all=True, append_images=frames[1:], duration=100, loop=0)
    return buffer.getvalue()


def cmyk_jpeg() -> bytes:
    return encoded(subject_photo(100, 80).convert("CMYK"), "JPEG")


def png_16_bit() -> bytes:
    grey = (np.asarray(subject_photo(100, 80).convert("L"), dtype=np.uint16) * 257).astype(">u2")
    return encoded(Image.fromarray(grey.astype(np.uint16), "I;16"), "PNG")


def huge_exif() -> bytes:
    """A JPEG whose EXIF block is the largest a JPEG segment holds (64 KB of tags)."""
    exif = Image.Exif()
    exif[0x010E] = "x" * 60_000  # ImageDescription
    exif[0x0112] = 6  # orientation: rotate, so the EXIF is really read
    return _photo(exif=exif.tobytes())


def huge_icc() -> bytes:
    """A JPEG carrying a 150 KB ICC 'profile' of garbage, split over three APP2 segments."""
    return _photo(icc_profile=b"\x00" * 150_000)


def polyglot_png_zip() -> bytes:
    """A PNG with a zip archive appended: both readers accept it."""
    return _photo("PNG") + zip_bomb()[:2000]


def gif_with_script() -> bytes:
    """A GIF whose comment holds an HTML script (GIF/JS polyglot style)."""
    buffer = io.BytesIO()
    subject_photo(60, 40).convert("P").save(
        buffer, "GIF", comment=b"<script>alert(document.domain)</script>"
    )
    return buffer.getvalue()


def html_named_png() -> bytes:
    return b"<!doctype html><html><script>alert(1)</script></html>"


def random_bytes() -> bytes:
    return np.random.default_rng(10).integers(0, 256, 50_000, dtype=np.uint8).tobytes()


def png_1x1() -> bytes:
    return encoded(Image.new("RGB", (1, 1), (200, 10, 10)), "PNG")


def png_1x20000() -> bytes:
    return encoded(Image.new("RGB", (1, 20_000), (200, 10, 10)), "PNG")


def corrupt_png_data() -> bytes:
    """A PNG whose header is fine but whose compressed pixels are garbage."""
    data = bytearray(_photo("PNG"))
    start = data.index(b"IDAT") + 40
    data[start : start + 200] = bytes(200)
    return bytes(data)


# The megapixel limit of the test API is 1.0 (tests/api/conftest.py).
CORPUS: list[BadFile] = [
    BadFile("zero bytes", "empty.jpg", lambda: b"", 422, "invalid_image"),
    BadFile("random bytes", "noise.jpg", random_bytes, 415, "unsupported_media_type"),
    BadFile("html named .png", "page.png", html_named_png, 415, "unsupported_media_type"),
    BadFile("zip bomb", "photo.png", zip_bomb, 415, "unsupported_media_type"),
    BadFile("gzipped png", "photo.png.gz", gzip_of_png, 415, "unsupported_media_type"),
    BadFile("png header only", "h.png", lambda: _photo("PNG")[:16], 422, "invalid_image"),
    BadFile("png claims 100k x 100k", "big.png", lambda: png_claiming(100_000, 100_000), 413,
            "image_too_large"),
    BadFile("decompression bomb", "bomb.png", lambda: png_bomb(4000), 413, "image_too_large"),
    BadFile("truncated jpeg", "t.jpg", lambda: truncated(_photo(), 0.5), 202, None,
            "invalid_image"),
    BadFile("truncated png", "t.png", lambda: truncated(_photo("PNG"), 0.5), 202, None,
            "invalid_image"),
    BadFile("truncated webp", "t.webp", lambda: truncated(_photo("WEBP"), 0.6), 422,
            "invalid_image"),
    BadFile("corrupt png pixels", "c.png", corrupt_png_data, 202, None, "invalid_image"),
    BadFile("png named .jpg", "photo.jpg", lambda: _photo("PNG"), 202, None),
    BadFile("png + zip polyglot", "poly.png", polyglot_png_zip, 202, None),
    BadFile("gif with a script comment", "x.gif", gif_with_script, 202, None),
    BadFile("animated gif", "a.gif", lambda: animated("GIF"), 202, None),
    BadFile("animated webp", "a.webp", lambda: animated("WEBP"), 202, None),
    BadFile("apng", "a.png", lambda: animated("PNG"), 202, None),
    BadFile("cmyk jpeg", "cmyk.jpg", cmyk_jpeg, 202, None),
    BadFile("16-bit png", "deep.png", png_16_bit, 202, None),
    BadFile("1x1 png", "dot.png", png_1x1, 202, None),
    BadFile("1x20000 png", "line.png", png_1x20000, 202, None),
    BadFile("huge exif", "exif.jpg", huge_exif, 202, None),
    BadFile("huge icc", "icc.jpg", huge_icc, 202, None),
]  # fmt: skip
