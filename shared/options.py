"""The processing options a job (or a `cutout` command) carries, validated in one place.

The API parses form fields into `ProcessOptions`, the worker and the command line consume it;
every rejection is an `InvalidOption` with a message naming the field.
"""

from __future__ import annotations

from typing import Any, Literal

from PIL import ImageColor
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from shared.errors import InvalidOption
from shared.layout import normalise_word, parse_canvas, parse_fraction, parse_offset

Mode = Literal["cutout", "mask", "color", "image"]
OutputFormat = Literal["png", "webp", "jpeg"]
RGBA = tuple[int, int, int, int]
# Models a client may ask for by name (the worker's registry holds the same names; a test
# keeps them in step). Paths to other ONNX files are for the command line only.
MODEL_NAMES = ("u2netp", "u2netp-int8", "u2net", "silueta", "isnet-general-use")
Preset = Literal["fast", "balanced", "best"]
HorizontalAlignment = Literal["left", "center", "right"]
VerticalAlignment = Literal["top", "center", "bottom"]
Shadow = Literal["none", "drop", "contact"]
# The framing options: any of them set places the subject on a canvas (docs/output.md).
FRAMING_FIELDS = ("canvas", "padding", "scale", "horizontal_alignment", "vertical_alignment")
SHADOW_FIELDS = ("shadow_opacity", "shadow_blur", "shadow_offset")
# What each preset means when the options do not say otherwise (see README, Quality).
PRESETS: dict[str, dict[str, Any]] = {
    "fast": {"model": "u2netp-int8", "refine_edges": False, "clean_colors": False},
    "balanced": {"model": "u2netp", "refine_edges": False, "clean_colors": False},
    "best": {"model": "u2netp", "refine_edges": True, "clean_colors": True},
}


def parse_color(value: str | tuple[int, ...] | list[int]) -> RGBA:
    """An RGBA tuple from '#rgb', '#rrggbb(aa)', a CSS name, 'rgb(...)', 'r,g,b[,a]' or a tuple."""
    if isinstance(value, tuple | list):
        channels = tuple(int(v) for v in value)
    elif "," in value and "(" not in value:
        channels = tuple(int(part) for part in value.split(","))
    else:
        try:
            channels = ImageColor.getrgb(value.strip())
        except ValueError as exc:
            raise ValueError(f"unknown colour {value!r}; use #rrggbb, a name or r,g,b[,a]") from exc
    if len(channels) not in (3, 4) or not all(0 <= c <= 255 for c in channels):
        raise ValueError(f"colour {value!r} needs 3 or 4 channels between 0 and 255")
    return (*channels[:3], channels[3] if len(channels) == 4 else 255)  # type: ignore[return-value]


class ProcessOptions(BaseModel):
    """What to produce from one image."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    mode: Mode = Field("cutout", description="cutout (RGBA), mask, color or image background")
    bg_color: RGBA | None = Field(None, description="background colour for mode=color")
    format: OutputFormat | None = Field(None, description="output format; default by mode")
    quality: int = Field(90, ge=1, le=100, description="JPEG/WebP quality")
    crop: bool = Field(False, description="crop to the subject")
    crop_margin: float = Field(
        0.05, ge=0, le=1, description="crop margin, fraction of subject size"
    )
    max_size: int | None = Field(None, ge=16, description="longest output side in pixels")
    cleanup: bool = Field(False, description="remove specks, fill holes, smooth the boundary")
    compat: Literal["rembg"] | None = Field(None, description="reproduce another tool's mask")
    preset: Preset | None = Field(None, description="fast, balanced or best; default: settings")
    model: str | None = Field(None, description="model name or ONNX path; default: the preset's")
    refine_edges: bool | None = Field(None, description="refine the alpha at full resolution")
    clean_colors: bool | None = Field(None, description="estimate clean colours at soft edges")
    canvas: tuple[int, int] | None = Field(None, description="output size WIDTHxHEIGHT")
    padding: float | None = Field(
        None, ge=0, lt=0.5, description="space around the subject, fraction of the canvas side"
    )
    scale: float | None = Field(
        None, gt=0, le=1, description="subject's share of the canvas (fill ratio), 0-1"
    )
    horizontal_alignment: HorizontalAlignment | None = Field(None, description="left/center/right")
    vertical_alignment: VerticalAlignment | None = Field(None, description="top/center/bottom")
    shadow: Shadow = Field("none", description="none, drop or contact shadow from the alpha")
    shadow_opacity: float | None = Field(None, ge=0, le=1, description="shadow darkness 0-1")
    shadow_blur: float | None = Field(
        None, ge=0, le=500, description="shadow blur radius, output pixels"
    )
    shadow_offset: tuple[int, int] | None = Field(
        None, description="shadow offset X,Y in output pixels (right, down)"
    )

    @field_validator("bg_color", mode="before")
    @classmethod
    def _parse_color(cls, value: Any) -> Any:
        return None if value in (None, "") else parse_color(value)

    @model_validator(mode="before")
    @classmethod
    def _add_shadow(cls, values: Any) -> Any:
        # remove.bg's add_shadow=true asks for the default shadow (a soft drop shadow).
        if not isinstance(values, dict) or "add_shadow" not in values:
            return values
        values = dict(values)
        wanted = values.pop("add_shadow")
        if str(wanted).strip().lower() not in ("true", "false", "1", "0", "yes", "no"):
            raise ValueError(f"add_shadow: {wanted!r} is not true or false")
        if str(wanted).strip().lower() in ("true", "1", "yes") and not values.get("shadow"):
            values["shadow"] = "drop"
        return values

    @field_validator("canvas", mode="before")
    @classmethod
    def _parse_canvas(cls, value: Any) -> Any:
        return parse_canvas(value)

    @field_validator("padding", "scale", mode="before")
    @classmethod
    def _parse_fraction(cls, value: Any) -> Any:
        return parse_fraction(value)

    @field_validator("shadow_offset", mode="before")
    @classmethod
    def _parse_offset(cls, value: Any) -> Any:
        return parse_offset(value)

    @field_validator("horizontal_alignment", "vertical_alignment", "shadow", mode="before")
    @classmethod
    def _normalise_word(cls, value: Any) -> Any:
        return normalise_word(value)

    @field_validator("format", mode="before")
    @classmethod
    def _normalise_format(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = value.lower().lstrip(".")
            return "jpeg" if value == "jpg" else value
        return value

    @model_validator(mode="after")
    def _check_combination(self) -> ProcessOptions:
        if self.mode == "color" and self.bg_color is None:
            raise ValueError("mode=color needs bg_color")
        if self.mode == "cutout" and self.format == "jpeg":
            raise ValueError("jpeg has no transparency: use png/webp, or mode=color with bg_color")
        if self.output_format == "jpeg" and self.bg_color is not None and self.bg_color[3] < 255:
            raise ValueError("a translucent bg_color needs png or webp, not jpeg")
        self._check_framing()
        return self

    def _check_framing(self) -> None:
        if self.padding is not None and self.scale is not None:
            raise ValueError("padding and scale both size the subject: give one of them")
        if self.crop and self.framed:
            raise ValueError(
                "crop cuts the output to the subject, canvas/padding/scale/alignment place it "
                "on a canvas: use one or the other"
            )
        if self.shadow == "none" and any(getattr(self, key) is not None for key in SHADOW_FIELDS):
            raise ValueError("shadow_opacity/blur/offset need shadow=drop or shadow=contact")
        if self.shadow != "none" and self.mode == "mask":
            raise ValueError("a mask has no shadow: use mode=cutout, color or image")

    @property
    def framed(self) -> bool:
        """Whether the subject is placed on a canvas (any framing option given)."""
        return any(getattr(self, key) is not None for key in FRAMING_FIELDS)

    @property
    def output_format(self) -> OutputFormat:
        """The format to encode: the one asked for, else PNG (JPEG for opaque backgrounds)."""
        if self.format is not None:
            return self.format
        opaque_background = self.mode == "image" or (
            self.mode == "color" and self.bg_color is not None and self.bg_color[3] == 255
        )
        return "jpeg" if opaque_background else "png"

    def resolved(self, *, default_preset: str, default_model: str | None = None) -> ProcessOptions:
        """A copy with every open choice made: the options' own, then the defaults, then
        the preset's. `compat` reproduces another tool exactly: u2netp, no refinements.
        """
        preset = self.preset or default_preset
        defaults = dict(PRESETS[preset])
        if default_model is not None:
            defaults["model"] = default_model
        if self.compat is not None:
            defaults.update(model=default_model or "u2netp", refine_edges=False, clean_colors=False)
        chosen = {key: value for key, value in defaults.items() if getattr(self, key) is None}
        return self.model_copy(update={"preset": preset, **chosen})

    @classmethod
    def parse(cls, values: dict[str, Any]) -> ProcessOptions:
        """Validate raw values (form fields, CLI flags); every problem becomes InvalidOption."""
        cleaned = {key: value for key, value in values.items() if value is not None}
        try:
            return cls.model_validate(cleaned)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(part) for part in first["loc"]) or "options"
            raise InvalidOption(f"{where}: {first['msg'].removeprefix('Value error, ')}") from exc
