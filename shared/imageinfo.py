"""Identify an image from its header: type by content, size, mode, frames, alpha, orientation.

Pillow only (no numpy/OpenCV): the API imports this to check uploads without decoding them.
`Image.open` is restricted to an allow-list of formats, so a file is never handed to one of
Pillow's many other, less exercised, parsers; the megapixel limit is checked from the header.
"""

from __future__ import annotations

import io
import re
import struct
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from PIL import ExifTags, Image, ImageFile, TiffImagePlugin
from pillow_heif import register_heif_opener

from shared.errors import ImageTooLarge, InvalidImage, UnsupportedImageType

# Once per process, on import: HEIF/HEIC is not one of Pillow's own formats.
register_heif_opener()

# Tried in this order; AVIF before HEIF because both accept the generic "mif1" brand.
MEDIA_TYPES: dict[str, str] = {
    "JPEG": "image/jpeg",
    "PNG": "image/png",
    "WEBP": "image/webp",
    "GIF": "image/gif",
    "BMP": "image/bmp",
    "TIFF": "image/tiff",
    "AVIF": "image/avif",
    "HEIF": "image/heif",
}
ACCEPTED = "JPEG, PNG, WebP, GIF, BMP, TIFF, AVIF, HEIF/HEIC"
_HEIC_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"hevm", b"hevs"}
_SWAPPING_ORIENTATIONS = {5, 6, 7, 8}
_PREFIX_LEN = 16  # what Pillow's format checks look at

Source = bytes | IO[bytes] | Path
# What Pillow's format parsers raise on malformed data besides OSError: found by fuzzing
# (tests/api/test_fuzz.py), e.g. IndexError from a GIF cut inside its frame list.
PARSER_ERRORS = (
    OSError,
    SyntaxError,
    ValueError,
    EOFError,
    IndexError,
    KeyError,
    TypeError,
    ArithmeticError,
    struct.error,
)


@dataclass(frozen=True)
class ImageInfo:
    """What the header says about an image; width and height are as stored, before orientation.

    HEIF's own rotation and mirroring (irot/imir) are applied by libheif: its size is the
    displayed one and its orientation 1. AVIF's are reported as an EXIF orientation by Pillow.
    """

    format: str
    media_type: str
    width: int
    height: int
    orientation: int  # EXIF orientation still to apply, 1..8 (1 = none)
    mode: str
    frames: int
    has_alpha: bool

    @property
    def megapixels(self) -> float:
        """Millions of pixels (10**6, not 2**20)."""
        return self.width * self.height / 1_000_000

    @property
    def oriented_size(self) -> tuple[int, int]:
        """(width, height) once the EXIF orientation is applied, i.e. as displayed."""
        if self.orientation in _SWAPPING_ORIENTATIONS:
            return self.height, self.width
        return self.width, self.height

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary."""
        oriented_width, oriented_height = self.oriented_size
        return {
            "format": self.format,
            "media_type": self.media_type,
            "width": self.width,
            "height": self.height,
            "orientation": self.orientation,
            "oriented_width": oriented_width,
            "oriented_height": oriented_height,
            "mode": self.mode,
            "megapixels": round(self.megapixels, 2),
            "frames": self.frames,
            "has_alpha": self.has_alpha,
        }


def input_warnings(info: ImageInfo) -> list[str]:
    """What a client should know about how its file will be read (it is not refused for it)."""
    if info.frames > 1:
        return [
            f"the image is animated or has pages: only the first of its {info.frames} frames "
            "is used"
        ]
    return []


def probe(source: Source, *, max_megapixels: float) -> ImageInfo:
    """Read only the header of source and describe it; raise if its type or size is refused."""
    with _open(source, max_megapixels) as (im, prefix):
        try:
            return _describe(im, prefix)
        except PARSER_ERRORS as exc:  # counting frames or reading EXIF walks the file
            raise InvalidImage(f"The {im.format} data is corrupt ({exc}).") from exc


@contextmanager
def open_image(source: Source, *, max_megapixels: float) -> Iterator[ImageFile.ImageFile]:
    """Open source like `probe` does (allow-list, size limit) and yield it, pixels not decoded.

    A stream passed in is left at the position it had; the image must start at its offset 0.
    """
    with _open(source, max_megapixels) as (im, _prefix):
        yield im


@contextmanager
def _open(source: Source, max_megapixels: float) -> Iterator[tuple[ImageFile.ImageFile, bytes]]:
    with _stream(source) as stream:
        stream.seek(0)  # Pillow reads every format from offset 0
        prefix = stream.read(_PREFIX_LEN)
        stream.seek(0)
        if not prefix:
            raise InvalidImage("The file is empty.")
        limit = int(max_megapixels * 1_000_000)
        # Pillow's own decompression-bomb guard stays on behind the header check below. It is
        # process-wide state, so it is only ever raised (for a limit above its default of
        # ~179 MP), never lowered: a small limit would leak into every later caller.
        if Image.MAX_IMAGE_PIXELS is None:
            raise RuntimeError("PIL.Image.MAX_IMAGE_PIXELS is None; the bomb guard must stay on")
        Image.MAX_IMAGE_PIXELS = max(Image.MAX_IMAGE_PIXELS, limit)
        im = _open_allowed(stream, prefix, max_megapixels)
        width, height = im.size
        if width * height > limit:
            raise ImageTooLarge(
                f"The image is {width}x{height} pixels ({width * height / 1e6:.1f} megapixels);"
                f" the limit is {max_megapixels:g} megapixels."
            )
        yield im, prefix


@contextmanager
def _stream(source: Source) -> Iterator[IO[bytes]]:
    """Source as a seekable binary stream, closed afterwards only if opened here."""
    if isinstance(source, bytes | bytearray | memoryview):
        yield io.BytesIO(source)
    elif isinstance(source, Path):
        with source.open("rb") as file:
            yield file
    elif source.seekable():
        start = source.tell()
        try:
            yield source
        finally:
            source.seek(start)
    else:
        yield io.BytesIO(source.read())


def _open_allowed(stream: IO[bytes], prefix: bytes, max_megapixels: float) -> ImageFile.ImageFile:
    Image.init()  # loads every plugin once; then only those in the allow-list are tried
    # A Pillow built without one of them (say WebP) must not turn every upload into a KeyError.
    formats = [name for name in MEDIA_TYPES if name in Image.OPEN]
    try:
        im = Image.open(stream, formats=formats)
    except Image.DecompressionBombError as exc:
        raise ImageTooLarge(_bomb_message(exc, max_megapixels)) from exc
    except Image.UnidentifiedImageError as exc:
        sniffed = _sniff(prefix)
        if sniffed is None:
            raise UnsupportedImageType(
                f"Unsupported image type; accepted types: {ACCEPTED}."
            ) from exc
        raise InvalidImage(f"The file starts like {sniffed} but its header is corrupt.") from exc
    except PARSER_ERRORS as exc:
        raise InvalidImage(f"The image header is corrupt ({exc}).") from exc
    if im.format not in MEDIA_TYPES and im.format != "MPO":
        raise UnsupportedImageType(f"Unsupported image type; accepted types: {ACCEPTED}.")
    return im


def _sniff(prefix: bytes) -> str | None:
    """The allowed format whose signature check accepts prefix, if any."""
    for name in MEDIA_TYPES:
        accept = Image.OPEN.get(name, (None, None))[1]
        if accept is not None and accept(prefix):
            return name
    return None


def _bomb_message(exc: Exception, max_megapixels: float) -> str:
    # Pillow's message carries the pixel count; the fallback keeps the limit at least.
    found = re.search(r"\((\d+) pixels\)", str(exc))
    size = f"{int(found[1]) / 1e6:.1f} megapixels" if found else "too many pixels"
    return f"The image has {size}; the limit is {max_megapixels:g} megapixels."


def _describe(im: ImageFile.ImageFile, prefix: bytes) -> ImageInfo:
    # An MPO (camera multi-picture JPEG) is a JPEG whose first picture is the photo.
    fmt = "JPEG" if im.format == "MPO" else str(im.format)
    media_type = MEDIA_TYPES[fmt]
    if fmt == "HEIF" and prefix[8:12] in _HEIC_BRANDS:
        media_type = "image/heic"
    orientation = _orientation(im)
    width, height = im.size
    if isinstance(im, TiffImagePlugin.TiffImageFile) and orientation in _SWAPPING_ORIENTATIONS:
        # Pillow reports a TIFF's size already oriented (it transposes while loading).
        width, height = height, width
    return ImageInfo(
        format=fmt,
        media_type=media_type,
        width=width,
        height=height,
        orientation=orientation,
        mode=im.mode,
        frames=getattr(im, "n_frames", 1),
        has_alpha=im.has_transparency_data,
    )


def _orientation(im: ImageFile.ImageFile) -> int:
    # The base getexif reads only what the header gave: PngImageFile.getexif would decode the
    # whole image to look for an eXIf chunk after the pixel data.
    value = Image.Image.getexif(im).get(ExifTags.Base.Orientation, 1)
    return value if isinstance(value, int) and 1 <= value <= 8 else 1
