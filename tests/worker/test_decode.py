"""decode(): every Pillow mode, orientation, ICC, CMYK, animations, limits and broken files."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path
from typing import Any

import pillow_heif
import pytest
from PIL import Image, ImageCms, ImageFile, features

from shared.errors import ImageTooLarge, InvalidImage, UnsupportedImageType
from tests.conftest import encoded
from worker.pipeline.decode import DecodedImage, decode, split_alpha, to_srgb

MP = 25.0


def row(mode: str, values: list) -> Image.Image:
    """A one-row image of the given pixel values."""
    picture = Image.new(mode, (len(values), 1))
    for x, value in enumerate(values):
        picture.putpixel((x, 0), value)
    return picture


def pixels(picture: Image.Image | None) -> list | None:
    return None if picture is None else [picture.getpixel((x, 0)) for x in range(picture.width)]


def near(actual: Any, expected: Any, tolerance: int = 6) -> bool:
    """Two pixels equal within tolerance per channel (lossy codecs)."""
    return all(abs(a - e) <= tolerance for a, e in zip(actual, expected, strict=True))


def decoded(data: bytes | Path, **options: bool) -> DecodedImage:
    result = decode(data, max_megapixels=MP, **options)
    assert result.rgb.mode == "RGB"
    assert result.alpha is None or result.alpha.mode == "L"
    assert result.alpha is None or result.alpha.size == result.rgb.size
    return result


def palette_row(mode: str = "P", **info: object) -> Image.Image:
    """Red, green, blue through a palette; in mode PA with alphas 255, 0, 7."""
    picture = row(mode, [0, 1, 2] if mode == "P" else [(0, 255), (1, 0), (2, 7)])
    picture.putpalette([255, 0, 0, 0, 255, 0, 0, 0, 255])
    picture.info.update(info)
    return picture


RGB3 = [(255, 0, 0), (0, 255, 0), (0, 0, 255)]

# (case, bytes, expected rgb pixels, expected alpha pixels or None)
MODE_CASES = [
    ("1", encoded(row("1", [0, 255]), "PNG"), [(0, 0, 0), (255, 255, 255)], None),
    ("L", encoded(row("L", [0, 77]), "PNG"), [(0, 0, 0), (77, 77, 77)], None),
    ("L+key", encoded(row("L", [9, 77]), "PNG", transparency=9), [(9,) * 3, (77,) * 3], [0, 255]),
    ("P", encoded(palette_row(), "PNG"), RGB3, None),
    ("P+tRNS", encoded(palette_row(transparency=b"\xff\x00\x80"), "PNG"), RGB3, [255, 0, 128]),
    ("P GIF", encoded(palette_row(), "GIF", transparency=1), RGB3, [255, 0, 255]),
    ("PA", encoded(palette_row(mode="PA"), "TIFF"), RGB3, [255, 0, 7]),
    ("LA", encoded(row("LA", [(10, 0), (20, 255)]), "PNG"), [(10,) * 3, (20,) * 3], [0, 255]),
    ("RGB+key", encoded(row("RGB", RGB3), "PNG", transparency=(0, 255, 0)), RGB3, [255, 0, 255]),
    (
        "RGBA",
        encoded(row("RGBA", [(1, 2, 3, 4), (5, 6, 7, 255)]), "PNG"),
        [(1, 2, 3), (5, 6, 7)],
        [4, 255],
    ),
    ("RGBA opaque", encoded(row("RGBA", [(1, 2, 3, 255)]), "PNG"), [(1, 2, 3)], None),
    (
        "I;16",
        encoded(row("I;16", [0, 25700, 65535]), "PNG"),
        [(0,) * 3, (100,) * 3, (255,) * 3],
        None,
    ),
    (
        "I;16+key",
        encoded(row("I;16", [0, 25700, 65535]), "PNG", transparency=25700),
        [(0,) * 3, (100,) * 3, (255,) * 3],
        [255, 0, 255],
    ),
    (
        "I;16B",
        encoded(row("I;16B", [0, 25700, 65535]), "TIFF"),
        [(0,) * 3, (100,) * 3, (255,) * 3],
        None,
    ),
    ("I", encoded(row("I", [0, 25700, 65535]), "TIFF"), [(0,) * 3, (100,) * 3, (255,) * 3], None),
    (
        "F 0..1",
        encoded(row("F", [0.0, 0.5, 1.0]), "TIFF"),
        [(0,) * 3, (128,) * 3, (255,) * 3],
        None,
    ),
    (
        "F 0..255",
        encoded(row("F", [0.0, 99.6, 255.0]), "TIFF"),
        [(0,) * 3, (100,) * 3, (255,) * 3],
        None,
    ),
    (
        "CMYK",
        encoded(row("CMYK", [(0, 0, 0, 0), (255, 0, 0, 0)]), "TIFF"),
        [(255, 255, 255), (0, 255, 255)],
        None,
    ),
    (
        "LAB",
        encoded(row("LAB", [(255, 128, 128), (136, 208, 195)]), "TIFF"),
        [(254, 255, 254), (250, 3, 11)],
        None,
    ),
]


@pytest.mark.parametrize(
    ("data", "rgb", "alpha"), [c[1:] for c in MODE_CASES], ids=[c[0] for c in MODE_CASES]
)
def test_every_stored_mode_becomes_8_bit_rgb_and_alpha(data: bytes, rgb: list, alpha: list) -> None:
    result = decoded(data)
    assert pixels(result.rgb) == rgb
    assert pixels(result.alpha) == alpha


@pytest.mark.parametrize(
    ("picture", "colour", "alpha"),
    [
        (row("RGBX", [(1, 2, 3, 0)]), [(1, 2, 3)], None),
        (row("YCbCr", [(255, 128, 128)]), [(255, 255, 255)], None),
        (row("HSV", [(0, 255, 255), (85, 255, 255)]), [(255, 0, 0), (0, 255, 0)], None),
        (row("RGBa", [(50, 25, 10, 128)]), [(99, 49, 19)], [128]),
        (row("La", [(50, 128)]), [99], [128]),
        (row("CMYK", [(0, 0, 0, 255)]), [(0, 0, 0, 255)], None),
    ],
    ids=["RGBX", "YCbCr", "HSV", "RGBa", "La", "CMYK kept for its profile"],
)
def test_modes_no_file_keeps_are_split_too(picture: Image.Image, colour: list, alpha: list) -> None:
    result, result_alpha = split_alpha(picture)
    assert pixels(result) == colour
    assert pixels(result_alpha) == alpha


def test_16_bit_rgb_png_arrives_as_8_bit(tmp_path: Path) -> None:
    # Pillow has no 16-bit RGB mode: it reads such PNGs as 8-bit RGB (high bytes). Written by hand.
    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    scanline = b"\x00" + struct.pack(">6H", 65535, 0, 32896, 0, 65535, 257)
    data = (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", 2, 1, 16, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(scanline))
        + chunk(b"IEND", b"")
    )
    result = decoded(data)
    assert pixels(result.rgb) == [(255, 0, 128), (0, 255, 1)]


def oriented_picture() -> Image.Image:
    """64x32, blue, a red mark top left and a green one top right: no symmetry survives."""
    picture = Image.new("RGB", (64, 32), (0, 0, 255))
    picture.paste((255, 0, 0), (0, 0, 16, 16))
    picture.paste((0, 255, 0), (48, 0, 64, 16))
    return picture


# How to store a picture so that a viewer applying orientation N shows it upright.
STORE_FOR = {
    1: None,
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_90,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_270,
}


@pytest.mark.parametrize("orientation", sorted(STORE_FOR))
def test_all_eight_exif_orientations_are_applied(orientation: int) -> None:
    upright = oriented_picture()
    method = STORE_FOR[orientation]
    stored = upright if method is None else upright.transpose(method)
    exif = Image.Exif()
    exif[0x0112] = orientation
    result = decoded(encoded(stored, "JPEG", quality=95, exif=exif.tobytes()))
    assert result.rgb.size == (64, 32) and result.info.oriented_size == (64, 32)
    assert result.info.orientation == orientation
    for x, y in [(8, 8), (56, 8), (32, 24), (8, 24)]:
        assert near(result.rgb.getpixel((x, y)), upright.getpixel((x, y)), 12), (x, y)


def test_orientation_also_applies_to_alpha() -> None:
    picture = Image.new("RGBA", (4, 2), (0, 0, 0, 255))
    picture.putpixel((0, 0), (0, 0, 0, 0))
    exif = Image.Exif()
    exif[0x0112] = 6
    result = decoded(encoded(picture, "PNG", exif=exif.tobytes()))
    assert result.alpha is not None and result.alpha.size == (2, 4)
    assert result.alpha.getpixel((1, 0)) == 0 and result.alpha.getextrema() == (0, 255)


CMYK_PATCHES = [(0, 0, 0, 0), (255, 0, 0, 0), (0, 0, 0, 255), (0, 255, 255, 0)]


def cmyk_patches() -> Image.Image:
    picture = Image.new("CMYK", (64, 16))
    for i, ink in enumerate(CMYK_PATCHES):
        picture.paste(ink, (16 * i, 0, 16 * i + 16, 16))
    return picture


def patch_colours(picture: Image.Image) -> list[Any]:
    return [picture.getpixel((16 * i + 8, 8)) for i in range(len(CMYK_PATCHES))]


def test_cmyk_jpeg_without_profile_matches_pillows_own_conversion() -> None:
    # Pillow writes (and reads back) Adobe's inverted CMYK; decode must not invert it again.
    result = decoded(encoded(cmyk_patches(), "JPEG", quality=95))
    expected = patch_colours(cmyk_patches().convert("RGB"))
    assert all(map(near, patch_colours(result.rgb), expected))


TEAL = (0, 128, 128)


def cmyk_profile() -> bytes:
    """A CMYK ICC v2 profile (lut16 A2B0 to Lab): naive inks, but its cyan prints teal."""
    corners = Image.new("CMYK", (16, 1))
    for i in range(16):
        corners.putpixel((i, 0), tuple(255 * (i >> shift & 1) for shift in (3, 2, 1, 0)))
    naive = corners.convert("RGB")
    naive.putpixel((8, 0), TEAL)  # corner 8 is cyan ink alone
    grid = b""
    for lightness, a, b in pixels(naive.convert("LAB")) or []:
        # Pillow's LAB is L * 2.55, a + 128, b + 128; lut16 wants L * 652.8, (a + 128) * 256.
        grid += struct.pack(">3H", round(lightness * 256), a * 256, b * 256)
    identity = struct.pack(">9i", 65536, 0, 0, 0, 65536, 0, 0, 0, 65536)
    ramp = struct.pack(">2H", 0, 65535)
    lut = b"mft2" + bytes(4) + bytes([4, 3, 2, 0]) + identity + struct.pack(">2H", 2, 2)
    lut += ramp * 4 + grid + ramp * 3
    text = b"Test CMYK\x00"
    desc = b"desc" + bytes(4) + struct.pack(">I", len(text)) + text + bytes(11 + 67)
    wtpt = b"XYZ " + bytes(4) + struct.pack(">3i", 63190, 65536, 54061)
    return icc_file(b"prtr", b"CMYK", b"Lab ", [(b"desc", desc), (b"wtpt", wtpt), (b"A2B0", lut)])


def icc_file(kind: bytes, space: bytes, pcs: bytes, tags: list[tuple[bytes, bytes]]) -> bytes:
    table, body = b"", b""
    offset = 128 + 4 + 12 * len(tags)
    for signature, data in tags:
        data += bytes(-len(data) % 4)
        table += struct.pack(">4sII", signature, offset + len(body), len(data))
        body += data
    header = struct.pack(
        ">I4sI4s4s4s12s4s",
        128 + 4 + len(table) + len(body),
        bytes(4),
        0x02100000,
        kind,
        space,
        pcs,
        bytes(12),
        b"acsp",
    )
    header += bytes(28) + struct.pack(">3i", 63190, 65536, 54061) + bytes(48)
    return header + struct.pack(">I", len(tags)) + table + body


def test_cmyk_jpeg_with_profile_converts_through_it() -> None:
    data = encoded(cmyk_patches(), "JPEG", quality=95, icc_profile=cmyk_profile())
    paper, cyan, black, red = patch_colours(decoded(data).rgb)
    assert near(cyan, TEAL, 12)  # the profile's cyan, not Pillow's naive (0, 255, 255)
    assert near(paper, (255, 255, 255)) and max(black) < 12 and near(red, (255, 0, 0), 12)
    assert near(patch_colours(decoded(data, convert_icc=False).rgb)[1], (0, 255, 255))


def rgb_profile(description: str) -> bytes:
    """Pillow's sRGB profile with red and blue primaries swapped and a new description."""
    data = bytearray(ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes())
    tags = {
        bytes(data[132 + 12 * i : 136 + 12 * i]): 132 + 12 * i
        for i in range(struct.unpack(">I", data[128:132])[0])
    }
    red, blue = tags[b"rXYZ"], tags[b"bXYZ"]
    data[red + 4 : red + 12], data[blue + 4 : blue + 12] = (
        data[blue + 4 : blue + 12],
        data[red + 4 : red + 12],
    )
    old = "sRGB built-in".encode("utf-16-be")
    new = description.encode("utf-16-be")
    assert len(new) == len(old)
    return bytes(data.replace(old, new))


def test_a_non_srgb_profile_is_converted_to_srgb() -> None:
    data = encoded(
        row("RGB", [(255, 0, 0), (0, 255, 0)]), "PNG", icc_profile=rgb_profile("Swap built-in")
    )
    result = decoded(data)
    assert near(result.rgb.getpixel((0, 0)), (0, 0, 255), 20)
    assert near(result.rgb.getpixel((1, 0)), (0, 255, 0), 20)
    assert ImageCms.getProfileDescription(
        ImageCms.ImageCmsProfile(io.BytesIO(result.rgb.info["icc_profile"]))
    ).startswith("sRGB")
    assert pixels(decoded(data, convert_icc=False).rgb) == [(255, 0, 0), (0, 255, 0)]


@pytest.mark.parametrize("profile", [rgb_profile("sRGB built-in"), b"not an ICC profile"])
def test_srgb_described_or_unreadable_profiles_leave_pixels_alone(profile: bytes) -> None:
    data = encoded(row("RGB", [(255, 0, 0), (10, 20, 30)]), "PNG", icc_profile=profile)
    assert pixels(decoded(data).rgb) == [(255, 0, 0), (10, 20, 30)]


def test_grey_images_convert_through_a_grey_profile() -> None:
    linear = b"curv" + bytes(4) + struct.pack(">IH", 1, 0x0100)  # gamma 1.0
    text = b"Linear grey\x00"
    desc = b"desc" + bytes(4) + struct.pack(">I", len(text)) + text + bytes(11 + 67)
    wtpt = b"XYZ " + bytes(4) + struct.pack(">3i", 63190, 65536, 54061)
    profile = icc_file(
        b"mntr", b"GRAY", b"XYZ ", [(b"desc", desc), (b"wtpt", wtpt), (b"kTRC", linear)]
    )
    data = encoded(row("L", [0, 128, 255]), "PNG", icc_profile=profile)
    assert [value[0] for value in pixels(decoded(data).rgb) or []] == [0, 188, 255]
    assert pixels(decoded(data, convert_icc=False).rgb) == [(0,) * 3, (128,) * 3, (255,) * 3]


def test_a_profile_for_another_colour_space_is_ignored() -> None:
    grey = row("L", [0, 128])
    assert pixels(to_srgb(grey, cmyk_profile())) == [(0, 0, 0), (128, 128, 128)]


def animation_frames(mode: str) -> list[Image.Image]:
    return [Image.new(mode, (16, 16), colour) for colour in ("red", "lime", "blue")]


@pytest.mark.parametrize(
    ("fmt", "mode"), [("GIF", "RGB"), ("WEBP", "RGB"), ("WEBP", "RGBA"), ("PNG", "RGBA")]
)
def test_animations_give_their_first_frame(fmt: str, mode: str) -> None:
    first, *rest = animation_frames(mode)
    data = encoded(first, fmt, save_all=True, append_images=rest, duration=100, lossless=True)
    result = decoded(data)
    assert result.info.frames == 3
    assert near(result.rgb.getpixel((8, 8)), (255, 0, 0)) and result.alpha is None


@pytest.mark.parametrize("fmt", ["HEIF", "AVIF"])
def test_heic_and_avif_round_trip(fmt: str) -> None:
    if fmt == "HEIF" and not pillow_heif.libheif_info()["HEIF"]:
        pytest.skip("libheif has no HEVC encoder in this build")
    if fmt == "AVIF" and not features.check("avif"):
        pytest.skip("Pillow was built without AVIF")
    picture = oriented_picture().convert("RGBA")
    picture.paste((0, 0, 0, 0), (24, 8, 40, 24))
    result = decoded(encoded(picture, fmt, quality=95))
    assert result.info.format == fmt and result.rgb.size == (64, 32)
    assert near(result.rgb.getpixel((8, 8)), (255, 0, 0), 24)
    assert result.alpha is not None and near([result.alpha.getpixel((32, 16))], [0], 20)


def test_jpeg_named_png_is_decoded_as_jpeg(tmp_path: Path) -> None:
    path = tmp_path / "upload.png"
    path.write_bytes(encoded(Image.new("RGB", (8, 8), (200, 100, 50)), "JPEG", quality=95))
    result = decoded(path)
    assert result.info.format == "JPEG" and near(result.rgb.getpixel((4, 4)), (200, 100, 50))


def test_a_stream_is_probed_then_decoded() -> None:
    stream = io.BytesIO(encoded(Image.new("RGB", (8, 8), (1, 2, 3)), "PNG"))
    assert decode(stream, max_megapixels=MP).rgb.getpixel((0, 0)) == (1, 2, 3)


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP", "GIF"])
def test_truncated_files_are_invalid(fmt: str) -> None:
    noise = Image.effect_noise((128, 128), 64).convert("RGB")
    data = encoded(noise, fmt)
    with pytest.raises(InvalidImage):
        decode(data[: len(data) * 2 // 3], max_megapixels=MP)


def test_truncation_is_never_silently_accepted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)
    with pytest.raises(RuntimeError, match="LOAD_TRUNCATED_IMAGES"):
        decode(encoded(Image.new("RGB", (8, 8)), "PNG"), max_megapixels=MP)


def test_text_and_empty_input_are_refused() -> None:
    with pytest.raises(UnsupportedImageType):
        decode(b"hello, this is not an image", max_megapixels=MP)
    with pytest.raises(InvalidImage):
        decode(b"", max_megapixels=MP)


def test_the_size_limit_is_checked_before_any_pixel_is_decoded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    data = bytearray(encoded(Image.new("RGB", (1, 1)), "PNG"))
    data[16:24] = struct.pack(">II", 30000, 30000)  # declare 900 MP in the IHDR
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))

    def fail(self: ImageFile.ImageFile) -> None:
        raise AssertionError("pixels were decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", fail)
    with pytest.raises(ImageTooLarge, match="limit is 25 megapixels"):
        decode(bytes(data), max_megapixels=MP)


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
def test_just_over_the_limit_is_refused() -> None:
    with pytest.raises(ImageTooLarge, match="1100x1000"):
        decode(encoded(Image.new("L", (1100, 1000)), "PNG"), max_megapixels=1.0)
