"""The band-wise PNG writer: every pixel survives, on any number of threads, and the file is
valid for strict readers (chunk CRCs, one zlib stream with its Adler-32)."""

from __future__ import annotations

import io
import struct
import zlib

import cv2
import numpy as np
import pytest
from PIL import Image

from worker.pipeline import png
from worker.pipeline.png import adler32_combine, write_png


def _picture(mode: str, height: int, width: int, seed: int = 0) -> Image.Image:
    channels = png.COLOUR_TYPES[mode][1]
    pixels = np.random.default_rng(seed).integers(0, 256, (height, width, channels), np.uint8)
    return Image.fromarray(pixels[:, :, 0] if channels == 1 else pixels, mode)


def _chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    """(type, data) of every chunk, checking each CRC on the way."""
    assert data[:8] == png.SIGNATURE
    chunks, offset = [], 8
    while offset < len(data):
        (length,) = struct.unpack(">I", data[offset : offset + 4])
        kind = data[offset + 4 : offset + 8]
        body = data[offset + 8 : offset + 8 + length]
        (crc,) = struct.unpack(">I", data[offset + 8 + length : offset + 12 + length])
        assert crc == zlib.crc32(kind + body), kind
        chunks.append((kind, body))
        offset += 12 + length
    return chunks


@pytest.mark.parametrize("mode", ["L", "LA", "RGB", "RGBA"])
@pytest.mark.parametrize(("height", "width"), [(1, 1), (17, 33), (700, 300)])
@pytest.mark.parametrize("threads", [1, 2, 3])
def test_pixels_survive_every_mode_size_and_thread_count(
    mode: str, height: int, width: int, threads: int
) -> None:
    picture = _picture(mode, height, width)
    buffer = io.BytesIO()
    write_png(picture, buffer, level=1, threads=threads)
    decoded = Image.open(io.BytesIO(buffer.getvalue()))
    decoded.load()
    assert decoded.mode == mode
    assert np.array_equal(np.asarray(decoded), np.asarray(picture))


@pytest.mark.parametrize("threads", [1, 2])
def test_file_is_one_valid_zlib_stream_with_correct_checksums(threads: int) -> None:
    picture = _picture("RGBA", 900, 257, seed=1)
    buffer = io.BytesIO()
    write_png(picture, buffer, level=2, threads=threads)
    chunks = _chunks(buffer.getvalue())
    kinds = [kind for kind, _ in chunks]
    assert kinds[0] == b"IHDR" and kinds[-1] == b"IEND"
    assert set(kinds[1:-1]) == {b"IDAT"}
    width, height, depth, colour, *_ = struct.unpack(">IIBBBBB", chunks[0][1])
    assert (width, height, depth, colour) == (257, 900, 8, 6)
    # zlib.decompress checks the Adler-32 at the end of the stream.
    raw = zlib.decompress(b"".join(body for kind, body in chunks if kind == b"IDAT"))
    assert len(raw) == 900 * (1 + 257 * 4)


def test_opencv_reads_it_too() -> None:
    picture = _picture("RGBA", 300, 400, seed=2)
    buffer = io.BytesIO()
    write_png(picture, buffer, threads=2)
    decoded = cv2.imdecode(np.frombuffer(buffer.getvalue(), np.uint8), cv2.IMREAD_UNCHANGED)
    assert np.array_equal(cv2.cvtColor(decoded, cv2.COLOR_BGRA2RGBA), np.asarray(picture))


def test_higher_level_makes_smaller_files_of_a_photo_like_picture() -> None:
    picture = Image.radial_gradient("L").resize((512, 512)).convert("RGB")
    sizes = []
    for level in (0, 2):
        buffer = io.BytesIO()
        write_png(picture, buffer, level=level)
        sizes.append(buffer.tell())
    assert sizes[1] < sizes[0]


def test_levels_outside_isal_range_are_clamped_not_refused() -> None:
    picture = _picture("L", 20, 20)
    outputs = []
    for level in (-1, 0, 3, 9):
        buffer = io.BytesIO()
        write_png(picture, buffer, level=level)
        outputs.append(buffer.getvalue())
    assert outputs[0] == outputs[1] and outputs[2] == outputs[3]


@pytest.mark.parametrize("split", [0, 1, 100, 70_000, 199_999])
def test_adler32_combine_matches_the_checksum_of_the_joined_bytes(split: int) -> None:
    # Longer than Adler-32's modulus (65521), so the length term wraps.
    data = np.random.default_rng(split).integers(0, 256, 200_000, np.uint8).tobytes()
    first, second = data[:split], data[split:]
    combined = adler32_combine(zlib.adler32(first), zlib.adler32(second), len(second))
    assert combined == zlib.adler32(data)


def test_supports_only_the_modes_it_writes() -> None:
    assert png.supports(Image.new("RGBA", (2, 2)))
    assert not png.supports(Image.new("P", (2, 2)))
    assert not png.supports(Image.new("I;16", (2, 2)))


@pytest.mark.parametrize(("max_pixels", "parts"), [(10**9, 2), (100, 1)])
def test_large_pictures_are_written_by_one_thread(
    max_pixels: int, parts: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = []
    deflate_rows = png._deflate_rows

    def counting(*args: object) -> object:
        calls.append(args[1:3])
        return deflate_rows(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(png, "PARALLEL_MAX_PIXELS", max_pixels)
    monkeypatch.setattr(png, "_deflate_rows", counting)
    picture = _picture("RGB", 600, 50)
    buffer = io.BytesIO()
    write_png(picture, buffer, threads=2)
    assert len(calls) == parts
    assert np.array_equal(np.asarray(Image.open(buffer)), np.asarray(picture))
