"""Decode an upload into 8-bit sRGB pixels plus an optional alpha channel.

`decode` calls `probe` first, so the type allow-list and the megapixel limit are enforced
from the header before any pixel is decoded. Then: first frame only (GIF, WebP, APNG, TIFF
pages), EXIF orientation applied, every Pillow mode reduced to 8 bits, ICC profiles converted
to sRGB. At most one full-size copy of the pixels is kept; each intermediate is dropped as
soon as the next one exists, so the peak is about twice the decoded image.

rembg compatibility: rembg feeds the model `img.convert("RGB")` of the EXIF-transposed image.
It ignores ICC profiles (hence `convert_icc=False`) and drops an RGBA input's alpha for the
model input; we do the same for `rgb` but still return the alpha separately. One deliberate
difference: 16-bit grey is scaled to 8 bits here, where rembg's convert("RGB") clips it.
"""

from __future__ import annotations

import io
import logging
import re
from dataclasses import dataclass

from PIL import Image, ImageCms, ImageFile, ImageOps

from shared.errors import ImageTooLarge, InvalidImage
from shared.imageinfo import ImageInfo, Source, open_image, probe

log = logging.getLogger(__name__)

_SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))
# "sRGB IEC61966-2.1", "sRGB built-in", "sRGB v4 ICC preference", ... but not "linear sRGB".
_SRGB_DESCRIPTION = re.compile(r"(?<!linear )\bsrgb\b", re.IGNORECASE)
# The ICC colour space each 8-bit mode needs from its profile (lcms names, padded to 4).
_ICC_SPACE = {"RGB": "RGB ", "L": "GRAY", "CMYK": "CMYK"}
# 16-bit samples (how Pillow holds 16-bit PNG/TIFF grey) to 8 bits, rounded: v * 255 / 65535.
_LUT_16_TO_8 = [(v * 255 + 32767) // 65535 for v in range(65536)]
_HIGH_BIT_GREY = {"I;16", "I;16B", "I;16L", "I;16N"}
# Premultiplied or palette alpha, turned into plain RGBA / LA before splitting.
_NEEDS_UNPACKING = {"PA": "RGBA", "RGBa": "RGBA", "La": "LA"}


@dataclass(frozen=True)
class DecodedImage:
    """8-bit sRGB pixels, oriented as displayed; alpha (mode L) only if not fully opaque."""

    rgb: Image.Image
    alpha: Image.Image | None
    info: ImageInfo


def decode(
    source: Source,
    *,
    max_megapixels: float,
    convert_icc: bool = True,
    reduce_to: tuple[int, int] | None = None,
) -> DecodedImage:
    """Decode the first frame of source to sRGB RGB plus alpha; raise a CutoutError if refused.

    `reduce_to` lets a JPEG decode at 1/2, 1/4 or 1/8 scale (DCT scaling, no larger than
    needed to cover that size): a preview for the model that costs a fraction of the time
    and memory of the full image. Other formats ignore it.
    """
    if ImageFile.LOAD_TRUNCATED_IMAGES:
        # Pillow would fill a truncated file with grey and say nothing; refuse to run like that.
        raise RuntimeError("PIL.ImageFile.LOAD_TRUNCATED_IMAGES is set; decode needs it False.")
    info = probe(source, max_megapixels=max_megapixels)
    with open_image(source, max_megapixels=max_megapixels) as im:
        if reduce_to is not None:
            im.draft(im.mode, reduce_to)
        load_pixels(im)
        icc = im.info.get("icc_profile") if convert_icc else None
        ImageOps.exif_transpose(im, in_place=True)
        colour, alpha = split_alpha(im)
    del im  # the source pixels, unless colour is the very same image
    rgb = to_srgb(colour, icc)
    del colour
    return DecodedImage(rgb=rgb, alpha=alpha, info=info)


def load_pixels(im: ImageFile.ImageFile) -> None:
    """Decode the pixels of an opened image; a bomb or a corrupt file becomes a CutoutError."""
    try:
        im.load()
    except Image.DecompressionBombError as exc:
        raise ImageTooLarge(f"The image is too large to decode ({exc}).") from exc
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise InvalidImage(f"The {im.format} data is truncated or corrupt ({exc}).") from exc


def split_alpha(im: Image.Image) -> tuple[Image.Image, Image.Image | None]:
    """Reduce any Pillow mode to 8-bit colour (L, RGB or CMYK) and an alpha (L) if not opaque.

    The colour is `im` itself, not a copy, when it needs no conversion (L, RGB or CMYK).
    """
    if im.mode in _NEEDS_UNPACKING:
        im = im.convert(_NEEDS_UNPACKING[im.mode])
    elif im.has_transparency_data and im.mode == "P":
        # Only the alpha goes through LA: 2 bytes a pixel where RGBA takes 4.
        alpha = im.convert("LA").getchannel("A")
        return _palette_to_rgb(im), _unless_opaque(alpha)
    elif im.has_transparency_data and im.mode in ("I", "I;16"):
        return _split_grey_key(im)
    elif im.has_transparency_data and im.mode in ("1", "L", "RGB"):
        im = im.convert("RGBA" if im.mode == "RGB" else "LA")  # a colour key becomes alpha
    if im.mode in ("RGBA", "LA"):
        alpha = im.getchannel("A")
        return im.convert(im.mode[:-1]), _unless_opaque(alpha)
    return _to_8bit(im), None


def _split_grey_key(im: Image.Image) -> tuple[Image.Image, Image.Image | None]:
    """16-bit grey with a transparent value (PNG tRNS): Pillow's LA clips before comparing."""
    wide = im.convert("I")
    key = im.info["transparency"]
    alpha = wide.point([0 if value == key else 255 for value in range(65536)], "L")
    return wide.point(_LUT_16_TO_8, "L"), _unless_opaque(alpha)


def _palette_to_rgb(im: Image.Image) -> Image.Image:
    # Without its transparency: Pillow warns that per-entry alpha cannot survive in RGB, but
    # the alpha has been taken already.
    transparency = im.info.pop("transparency", None)
    try:
        return im.convert("RGB")
    finally:
        if transparency is not None:
            im.info["transparency"] = transparency


def _to_8bit(im: Image.Image) -> Image.Image:
    """8-bit L, RGB or CMYK from a mode without alpha."""
    if im.mode in ("L", "RGB", "CMYK"):
        return im
    if im.mode in _HIGH_BIT_GREY:
        im = im.convert("I")  # I;16 has no 65536-entry lookup; convert("L") would clip at 255
    if im.mode == "I":
        # Taken as 16-bit samples (Pillow's "I" from 16-bit files); values beyond 0..65535 clip.
        return im.point(_LUT_16_TO_8, "L")
    if im.mode == "F":
        # Floats are read as 0..1 when none exceeds 1, else as 0..255; both clip, then round.
        high = im.getextrema()[1]
        scale = 255.0 if isinstance(high, float | int) and high <= 1.0 else 1.0
        return im.point(lambda v: v * scale + 0.5).convert("L")
    if im.mode == "1":
        return im.convert("L")
    if im.mode == "P":
        return _palette_to_rgb(im)
    # RGBX, YCbCr, HSV, LAB (Pillow converts LAB through lcms, D50, like ImageCms would).
    try:
        return im.convert("RGB")
    except ValueError as exc:
        raise InvalidImage(f"Pixel mode {im.mode} is not supported.") from exc


def _unless_opaque(alpha: Image.Image) -> Image.Image | None:
    return None if alpha.getextrema()[0] == 255 else alpha


def to_srgb(colour: Image.Image, icc_profile: bytes | None) -> Image.Image:
    """8-bit sRGB RGB from L, RGB or CMYK colour, through its ICC profile when it has one."""
    source = _usable_profile(colour.mode, icc_profile)
    if source is not None:
        try:
            return _convert_icc(colour, source)
        except (ImageCms.PyCMSError, ValueError, OSError) as exc:
            log.warning("ICC conversion failed, using the pixels as they are: %s", exc)
    return colour if colour.mode == "RGB" else colour.convert("RGB")


def _usable_profile(mode: str, icc_profile: bytes | None) -> ImageCms.ImageCmsProfile | None:
    """The embedded profile if converting through it can change anything, else None."""
    if not icc_profile:
        return None
    try:
        profile = ImageCms.ImageCmsProfile(io.BytesIO(icc_profile))
    except (ImageCms.PyCMSError, OSError, ValueError) as exc:
        # Browsers render images with broken profiles as sRGB; do the same.
        log.warning("Ignoring an unreadable ICC profile: %s", exc)
        return None
    if profile.profile.xcolor_space != _ICC_SPACE.get(mode):
        return None  # a profile for another colour space than the pixels cannot be applied
    # sRGB -> sRGB through lcms is an identity up to rounding: it only adds noise (and time).
    description = ImageCms.getProfileDescription(profile).strip()
    if mode == "RGB" and _SRGB_DESCRIPTION.search(description):
        return None
    return profile


def _convert_icc(colour: Image.Image, source: ImageCms.ImageCmsProfile) -> Image.Image:
    # Relative colorimetric with black-point compensation: Photoshop's and libvips' default.
    transform = ImageCms.buildTransform(
        source,
        _SRGB,
        colour.mode,
        "RGB",
        renderingIntent=ImageCms.Intent.RELATIVE_COLORIMETRIC,
        flags=ImageCms.Flags.BLACKPOINTCOMPENSATION,
    )
    if colour.mode == "RGB":
        return transform.apply_in_place(colour)  # no second full-size image
    return transform.apply(colour)
