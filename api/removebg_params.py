"""remove.bg's request parameters, read leniently and turned into Cutout job options.

remove.bg clients send multipart forms, url-encoded forms or JSON, with legacy values
(`size=regular`, `type_level=none`, `roi=0 0 100% 100%`, booleans as 'true'). Everything
remove.bg documents is accepted; what Cutout cannot do yet is named in `warnings` (sent
back as `X-Cutout-Warning` headers) instead of being ignored in silence.
"""

from __future__ import annotations

import base64
import binascii
import math
import re
from dataclasses import dataclass, field
from typing import Any

from flask import Request

from shared.errors import InvalidOption
from shared.options import ProcessOptions

# Megapixels each `size` allows (None: the full resolution, within the server's limit).
SIZE_MEGAPIXELS: dict[str, float | None] = {
    "preview": 0.25,
    "small": 0.25,
    "regular": 0.25,
    "medium": 1.5,
    "hd": 4.0,
    "full": None,
    "4k": None,
    "50mp": None,
    "auto": None,
}
FORMATS = ("auto", "png", "jpg", "webp", "zip")
CHANNELS = ("rgba", "alpha")
TRUE, FALSE = {"true", "1", "yes", "on"}, {"false", "0", "no", "off", ""}
HEX_COLOR = re.compile(r"[0-9a-fA-F]{3,4}|[0-9a-fA-F]{6}|[0-9a-fA-F]{8}")
LENGTH = re.compile(r"(\d+(?:\.\d+)?)(px|%)?")
FULL_ROI = ("0", "0", "100%", "100%")


@dataclass
class RemoveBgRequest:
    """One remove.bg call: where the image comes from and what to make of it."""

    image: bytes | None = None
    image_url: str | None = None
    background: bytes | None = None
    background_url: str | None = None
    size: str = "preview"
    type: str = "auto"
    format: str = "auto"
    channels: str = "rgba"
    crop: bool = False
    crop_margin: str | None = None
    bg_color: str | None = None
    scale: str = "original"
    position: str = "original"
    shadow: bool = False
    fields: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def max_megapixels(self) -> float | None:
        return SIZE_MEGAPIXELS[self.size]


def _values(request: Request) -> tuple[dict[str, Any], dict[str, bytes]]:
    """The call's parameters and uploaded files, whatever the body's encoding."""
    if request.is_json:
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            raise InvalidOption("the JSON body must be an object of parameters")
        return body, {}
    files = {name: upload.read() for name, upload in request.files.items() if upload}
    return request.form.to_dict(), files


def _text(values: dict[str, Any], name: str, default: str | None = None) -> str | None:
    value = values.get(name)
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value).strip()


def _flag(values: dict[str, Any], name: str, default: bool) -> bool:
    text = (_text(values, name) or "").lower()
    if text in TRUE:
        return True
    if text in FALSE:
        return default if text == "" else False
    raise InvalidOption(f"{name}: use true or false, not {text!r}")


def _choice(values: dict[str, Any], name: str, choices: tuple[str, ...], default: str) -> str:
    text = (_text(values, name) or default).lower()
    if text not in choices:
        raise InvalidOption(f"{name}: {text!r} is not one of {', '.join(choices)}")
    return text


def _b64(text: str, name: str) -> bytes:
    _, _, payload = text.partition("base64,") if text.startswith("data:") else ("", "", text)
    try:
        return base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidOption(f"{name}: not valid base64") from exc


def _source(values: dict[str, Any], files: dict[str, bytes]) -> tuple[bytes | None, str | None]:
    found = {
        "image_file": files.get("image_file"),
        "image_file_b64": _text(values, "image_file_b64"),
        "image_url": _text(values, "image_url"),
    }
    given = [name for name, value in found.items() if value]
    if len(given) != 1:
        raise InvalidOption(
            "send exactly one of image_file, image_file_b64 or image_url"
            + (f" (got {', '.join(given)})" if given else "")
        )
    if found["image_file_b64"]:
        return _b64(str(found["image_file_b64"]), "image_file_b64"), None
    if found["image_url"]:
        return None, str(found["image_url"])
    return found["image_file"], None  # type: ignore[return-value]


def parse_request(request: Request) -> RemoveBgRequest:
    """Read and check a remove.bg call (no image is decoded here)."""
    values, files = _values(request)
    image, image_url = _source(values, files)
    call = RemoveBgRequest(image=image, image_url=image_url)
    call.size = _choice(values, "size", tuple(SIZE_MEGAPIXELS), "preview")
    call.type = (_text(values, "type") or "auto").lower()
    call.format = _choice(values, "format", FORMATS, "auto")
    call.channels = _choice(values, "channels", CHANNELS, "rgba")
    call.crop = _flag(values, "crop", False)
    call.crop_margin = _text(values, "crop_margin")
    call.bg_color = _color(_text(values, "bg_color"))
    call.background = files.get("bg_image_file")
    call.background_url = _text(values, "bg_image_url")
    call.scale = (_text(values, "scale") or "original").lower()
    call.position = (_text(values, "position") or "original").lower()
    call.shadow = _flag(values, "add_shadow", False)
    if call.bg_color and (call.background or call.background_url):
        raise InvalidOption("bg_color: send a background colour or a background image, not both")
    _unsupported(values, call.warnings)
    return call


def _color(text: str | None) -> str | None:
    if text is None:
        return None
    return f"#{text}" if HEX_COLOR.fullmatch(text) else text


def _unsupported(values: dict[str, Any], warnings: list[str]) -> None:
    """Accepted parameters Cutout cannot honour: a warning each, never a silent change."""
    roi = (_text(values, "roi") or " ".join(FULL_ROI)).split()
    if len(roi) != 4:
        raise InvalidOption("roi: four values 'x1 y1 x2 y2' in px or %")
    if tuple(roi) != FULL_ROI:
        warnings.append("roi is not supported; the whole image was processed")
    if not _flag(values, "semitransparency", True):
        warnings.append("semitransparency=false is not supported; edges stay soft")


def _crop_margin(text: str | None, image_size: tuple[int, int], warnings: list[str]) -> float:
    """Cutout's margin (a fraction of the subject's size) from remove.bg's 1, 2 or 4 lengths."""
    if text is None:
        return 0.0  # remove.bg's default, where Cutout's own is 5%
    parts = text.replace(",", " ").split()
    lengths = [LENGTH.fullmatch(part) for part in parts]
    if len(parts) not in (1, 2, 4) or not all(lengths):
        raise InvalidOption("crop_margin: 1, 2 or 4 values in px or %, e.g. 10% or 30px")
    fractions = []
    for match in lengths:
        number, unit = float(match[1]), match[2]  # type: ignore[index]
        # A px margin needs the subject's size, which only the worker knows: approximated
        # against the image's longer side, and said so.
        fractions.append(number / 100 if unit == "%" else number / max(image_size))
    if any(match[2] != "%" for match in lengths) or len(set(fractions)) > 1:  # type: ignore[index]
        warnings.append("crop_margin: px or per-side margins are approximated by one margin")
    return min(1.0, max(fractions))


def _framing(call: RemoveBgRequest, size: tuple[int, int]) -> dict[str, str]:
    """remove.bg's scale and position as Cutout's canvas (the output's own size) and placement.

    remove.bg scales the subject to a share of the image and centres it unless a position
    is given; Cutout's alignments are left/center/right and top/center/bottom, so a position
    in % goes to the nearest of those (with a warning when it is not exact).
    """
    if call.scale == "original":
        if call.position not in ("original", "center"):
            call.warnings.append("position without scale is not supported; the subject stays")
        return {}
    share = LENGTH.fullmatch(call.scale)
    if share is None or share.group(2) not in (None, "%") or not 0 < float(share.group(1)) <= 100:
        raise InvalidOption("scale: 'original' or a share of the image from 1% to 100%")
    fields = {"canvas": f"{size[0]}x{size[1]}", "scale": str(float(share.group(1)) / 100)}
    if call.position in ("original", "center"):
        return fields
    parts = call.position.replace("%", "").split()
    try:
        x, y = (float(parts[0]), float(parts[-1])) if len(parts) in (1, 2) else (None, None)
    except ValueError:
        x = y = None
    if x is None or y is None:
        raise InvalidOption("position: 'original', 'center' or 'X% Y%'")
    nearest = {0: ("left", "top"), 50: ("center", "center"), 100: ("right", "bottom")}
    hx, vy = min(nearest, key=lambda p: abs(p - x)), min(nearest, key=lambda p: abs(p - y))
    if (hx, vy) != (x, y):
        call.warnings.append(
            "position: placed at the nearest of left/center/right, top/center/bottom"
        )
    fields.update(horizontal_alignment=nearest[hx][0], vertical_alignment=nearest[vy][1])
    return fields


def job_fields(call: RemoveBgRequest, image_size: tuple[int, int]) -> dict[str, str]:
    """The Cutout job options that produce what the remove.bg call asks for."""
    fields: dict[str, str] = {}
    if call.channels == "alpha":
        fields["mode"] = "mask"
    elif call.bg_color:
        fields.update(mode="color", bg_color=call.bg_color)
    elif call.background is not None:
        fields["mode"] = "image"
    elif call.format == "jpg":  # remove.bg: a JPEG without a background colour is on white
        fields.update(mode="color", bg_color="#ffffff")
    if call.format in ("png", "webp", "jpg"):
        fields["format"] = call.format
    elif call.format == "zip":
        if call.bg_color or call.background is not None or call.channels == "alpha":
            call.warnings.append("format=zip holds the colours and the alpha; no background")
        fields = {"mode": "cutout", "format": "png"}
    if call.crop:
        fields["crop"] = "true"
        fields["crop_margin"] = str(_crop_margin(call.crop_margin, image_size, call.warnings))
    limit = call.max_megapixels()
    width, height = image_size
    if limit is not None and width * height > limit * 1e6:
        longest = math.floor(max(width, height) * math.sqrt(limit * 1e6 / (width * height)))
        fields["max_size"] = str(max(16, longest))
        shrink = max(16, longest) / max(width, height)
        width, height = max(1, round(width * shrink)), max(1, round(height * shrink))
    if call.shadow:
        fields["shadow"] = "drop"
    fields.update(_framing(call, (width, height)))
    ProcessOptions.parse(dict(fields))  # a bad combination fails here, before any upload
    return fields
