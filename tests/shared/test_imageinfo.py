"""probe(): type by content, header-only size checks, orientation, frames and alpha."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import pillow_heif
import pytest
from PIL import Image, ImageFile, features

from shared.errors import ImageTooLarge, InvalidImage, UnsupportedImageType
from shared.imageinfo import ImageInfo, probe
from tests.conftest import encoded

MP = 25.0


def png_declaring(width: int, height: int) -> bytes:
    """A valid small PNG whose IHDR is patched to declare width x height."""
    data = bytearray(encoded(Image.new("RGB", (1, 1)), "PNG"))
    data[16:24] = struct.pack(">II", width, height)
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))
    return bytes(data)


def forbid_decoding(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(self: ImageFile.ImageFile) -> None:
        raise AssertionError("pixels were decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", fail)


def can_save(fmt: str) -> bool:
    if fmt == "AVIF":
        return bool(features.check("avif"))
    if fmt == "HEIF":
        return bool(pillow_heif.libheif_info()["HEIF"])
    return True


FORMATS = [
    ("JPEG", "image/jpeg", "RGB"),
    ("PNG", "image/png", "RGBA"),
    ("WEBP", "image/webp", "RGBA"),
    ("GIF", "image/gif", "P"),
    ("BMP", "image/bmp", "RGB"),
    ("TIFF", "image/tiff", "RGBA"),
    ("AVIF", "image/avif", "RGBA"),
    ("HEIF", "image/heic", "RGBA"),  # pillow_heif writes the "heic" brand
]


@pytest.mark.parametrize(("fmt", "media_type", "mode"), FORMATS)
def test_each_allowed_format_is_recognised_from_its_header(
    fmt: str, media_type: str, mode: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not can_save(fmt):
        pytest.skip(f"no {fmt} encoder in this build")
    data = encoded(Image.new(mode, (40, 30), 200), fmt)
    forbid_decoding(monkeypatch)
    info = probe(data, max_megapixels=MP)
    assert (info.format, info.media_type, info.width, info.height) == (fmt, media_type, 40, 30)
    assert info.frames == 1 and info.orientation == 1


def test_alpha_is_reported_for_channels_and_palette_transparency() -> None:
    palette = Image.new("P", (4, 4))
    assert probe(encoded(Image.new("RGBA", (4, 4)), "PNG"), max_megapixels=MP).has_alpha
    assert probe(encoded(palette, "PNG", transparency=0), max_megapixels=MP).has_alpha
    assert not probe(encoded(palette, "PNG"), max_megapixels=MP).has_alpha
    assert not probe(encoded(Image.new("RGB", (4, 4)), "PNG"), max_megapixels=MP).has_alpha


def test_type_comes_from_content_not_file_name(tmp_path: Path) -> None:
    path = tmp_path / "photo.png"
    path.write_bytes(encoded(Image.new("RGB", (8, 8)), "JPEG"))
    info = probe(path, max_megapixels=MP)
    assert (info.format, info.media_type) == ("JPEG", "image/jpeg")


def test_a_stream_is_left_where_it_was() -> None:
    stream = io.BytesIO(encoded(Image.new("RGB", (8, 8)), "PNG"))
    stream.seek(5)
    assert probe(stream, max_megapixels=MP).format == "PNG"
    assert stream.tell() == 5


@pytest.mark.parametrize(
    "data",
    [
        b"just some text, not an image",
        b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n",
        encoded(Image.new("RGB", (16, 16)), "ICO"),  # Pillow reads it; we do not accept it
        encoded(Image.new("RGB", (16, 16)), "PPM"),
    ],
)
def test_other_content_is_an_unsupported_type_listing_the_accepted_ones(data: bytes) -> None:
    with pytest.raises(UnsupportedImageType, match="JPEG, PNG, WebP, GIF, BMP, TIFF, AVIF, HEIF"):
        probe(data, max_megapixels=MP)


def test_empty_input_is_invalid(tmp_path: Path) -> None:
    (tmp_path / "empty.jpg").write_bytes(b"")
    with pytest.raises(InvalidImage, match="empty"):
        probe(b"", max_megapixels=MP)
    with pytest.raises(InvalidImage, match="empty"):
        probe(tmp_path / "empty.jpg", max_megapixels=MP)


def test_a_known_signature_with_a_broken_header_is_invalid_not_unsupported() -> None:
    with pytest.raises(InvalidImage):
        probe(b"\x89PNG\r\n\x1a\n" + b"\x00" * 8, max_megapixels=MP)
    with pytest.raises(InvalidImage):
        probe(encoded(Image.new("RGB", (8, 8)), "JPEG")[:20], max_megapixels=MP)


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
def test_over_the_limit_is_refused_naming_size_and_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    data = encoded(Image.new("L", (1200, 1000)), "PNG")
    forbid_decoding(monkeypatch)
    with pytest.raises(ImageTooLarge, match=r"1200x1000 pixels \(1.2 megapixels\).*limit is 1 "):
        probe(data, max_megapixels=1.0)
    assert probe(data, max_megapixels=1.2).megapixels == pytest.approx(1.2)


def test_a_huge_declared_size_is_refused_from_the_header(monkeypatch: pytest.MonkeyPatch) -> None:
    data = png_declaring(30000, 30000)  # 900 MP declared, a few bytes of pixel data
    forbid_decoding(monkeypatch)
    with pytest.raises(ImageTooLarge, match=r"900.0 megapixels.*limit is 25 megapixels"):
        probe(data, max_megapixels=MP)
    # With a limit that allows it, probe still answers without touching the pixels.
    assert probe(data, max_megapixels=1000).megapixels == 900.0


def test_pillow_bomb_guard_stays_on_and_is_not_bent_per_call() -> None:
    before = Image.MAX_IMAGE_PIXELS
    probe(encoded(Image.new("RGB", (8, 8)), "PNG"), max_megapixels=3.5)
    assert Image.MAX_IMAGE_PIXELS == before and before is not None


def test_probe_refuses_to_run_with_the_bomb_guard_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", None)
    with pytest.raises(RuntimeError, match="bomb guard"):
        probe(encoded(Image.new("RGB", (8, 8)), "PNG"), max_megapixels=3.5)


@pytest.mark.parametrize(("orientation", "swapped"), [(1, False), (3, False), (6, True), (8, True)])
def test_exif_orientation_is_reported_with_the_displayed_size(
    orientation: int, swapped: bool
) -> None:
    exif = Image.Exif()
    exif[0x0112] = orientation
    data = encoded(Image.new("RGB", (64, 32)), "JPEG", exif=exif.tobytes())
    info = probe(data, max_megapixels=MP)
    assert (info.width, info.height, info.orientation) == (64, 32, orientation)
    assert info.oriented_size == ((32, 64) if swapped else (64, 32))


def test_tiff_size_is_reported_as_stored_too() -> None:
    exif = Image.Exif()
    exif[0x0112] = 6
    info = probe(encoded(Image.new("RGB", (64, 32)), "TIFF", exif=exif), max_megapixels=MP)
    assert (info.width, info.height, info.oriented_size) == (64, 32, (32, 64))


def frames(mode: str) -> list[Image.Image]:
    return [Image.new(mode, (10, 10), colour) for colour in ("red", "green", "blue")]


@pytest.mark.parametrize("fmt", ["GIF", "WEBP", "PNG"])
def test_animations_report_their_frame_count(fmt: str) -> None:
    first, *rest = frames("RGB")
    data = encoded(first, fmt, save_all=True, append_images=rest, duration=100)
    assert probe(data, max_megapixels=MP).frames == 3


def test_to_dict_is_json_ready() -> None:
    info = ImageInfo(
        format="JPEG",
        media_type="image/jpeg",
        width=4000,
        height=3001,
        orientation=6,
        mode="RGB",
        frames=1,
        has_alpha=False,
    )
    assert info.to_dict() == {
        "format": "JPEG",
        "media_type": "image/jpeg",
        "width": 4000,
        "height": 3001,
        "orientation": 6,
        "oriented_width": 3001,
        "oriented_height": 4000,
        "mode": "RGB",
        "megapixels": 12.0,
        "frames": 1,
        "has_alpha": False,
    }
