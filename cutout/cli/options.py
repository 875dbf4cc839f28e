"""Click options shared by the subcommands that process images (`remove`, `batch`)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
from PIL import Image

from cutout.files import check_model
from shared.errors import CutoutError, InvalidOption
from shared.options import ProcessOptions
from shared.settings import Settings, get_settings

Decorator = Callable[[Callable[..., Any]], Callable[..., Any]]
T = TypeVar("T")

# Shared with `cutout eval`, which scores the same presets.
PRESET_OPTION: Decorator = click.option(
    "--preset",
    type=click.Choice(["fast", "balanced", "best"]),
    help="fast (int8), balanced (fp32) or best (fp32 + edge refinement + clean colours); "
    "default: CUTOUT_PRESET.",
)
REFINE_EDGES_OPTION: Decorator = click.option(
    "--refine-edges/--no-refine-edges",
    default=None,
    help="Refine the alpha at full resolution (default: the preset's).",
)

PROCESSING_OPTIONS: list[Decorator] = [
    PRESET_OPTION,
    click.option(
        "--mode",
        type=click.Choice(["cutout", "mask", "color", "image"]),
        default="cutout",
        show_default=True,
        help="What to produce.",
    ),
    click.option(
        "--bg-color", help="Background for --mode color: #rrggbb[aa], a name, or r,g,b[,a]."
    ),
    click.option(
        "--bg-image",
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
        help="Background picture for --mode image.",
    ),
    click.option(
        "--format",
        "fmt",
        type=click.Choice(["png", "webp", "jpeg", "jpg"]),
        help="Output format (default: PNG; JPEG for opaque backgrounds).",
    ),
    click.option("--quality", type=int, default=90, show_default=True, help="JPEG/WebP quality."),
    click.option("--crop", is_flag=True, help="Crop to the subject."),
    click.option(
        "--crop-margin",
        type=float,
        default=0.05,
        show_default=True,
        help="Margin around the cropped subject, as a fraction of its size.",
    ),
    click.option(
        "--max-size", type=int, help="Longest output side in pixels (default: full size)."
    ),
    click.option(
        "--canvas",
        help="Place the subject on a canvas of this size, e.g. 2000x2000 (docs/output.md).",
    ),
    click.option("--padding", help="Space around the subject on the canvas: 0.1 or 10% a side."),
    click.option("--scale", help="Subject's share of the canvas (fill ratio): 0.8 or 80%."),
    click.option(
        "--horizontal-alignment",
        type=click.Choice(["left", "center", "right"]),
        help="Where the subject sits across the canvas (default: center).",
    ),
    click.option(
        "--vertical-alignment",
        type=click.Choice(["top", "center", "bottom"]),
        help="Where the subject sits down the canvas (default: center).",
    ),
    click.option(
        "--shadow",
        type=click.Choice(["none", "drop", "contact"]),
        default="none",
        show_default=True,
        help="A soft shadow cast from the subject's alpha.",
    ),
    click.option("--shadow-opacity", type=float, help="Shadow darkness, 0-1."),
    click.option("--shadow-blur", type=float, help="Shadow blur radius in output pixels."),
    click.option("--shadow-offset", help="Shadow offset X,Y in output pixels (right, down)."),
    click.option("--cleanup", is_flag=True, help="Remove specks, fill holes, smooth the boundary."),
    REFINE_EDGES_OPTION,
    click.option(
        "--clean-colors/--no-clean-colors",
        default=None,
        help="Estimate the subject's own colour at soft edges, no old-background halo "
        "(default: the preset's).",
    ),
    click.option(
        "--compat", type=click.Choice(["rembg"]), help="Reproduce rembg's u2netp mask exactly."
    ),
    click.option(
        "--model",
        help="Model name (u2netp, u2netp-int8, ...) or path to a u2net-family ONNX file; "
        "default: the preset's.",
    ),
]


def processing_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Decorate a click command with every processing option."""
    for option in reversed(PROCESSING_OPTIONS):
        command = option(command)
    return command


class OptionError(click.UsageError):
    """A rejected option: one line (`Error: invalid_option: ...`), exit status 2."""

    def show(self, file: Any = None) -> None:
        click.echo(f"Error: {self.format_message()}", err=True)


def usage(check: Callable[[], T], option: str) -> T:
    """Run `check`; a CutoutError it raises becomes one usage line naming `option`."""
    try:
        return check()
    except CutoutError as exc:
        raise click.UsageError(f"{option}: {exc.message}") from exc


def build_options(values: dict[str, Any], fmt: str | None = None) -> ProcessOptions:
    """ProcessOptions from the click values; a bad value or combination is an OptionError."""
    fields = {key: values.get(key) for key in ProcessOptions.model_fields if key != "format"}
    fields["format"] = fmt
    try:
        check_model(fields.get("model"))
        return ProcessOptions.parse(fields)
    except InvalidOption as exc:
        raise OptionError(f"{exc.code}: {exc.message}") from exc


def run_settings(values: dict[str, Any]) -> Settings:
    """The settings for this run: a model named with --model must run, never the fallback."""
    settings = get_settings()
    if values.get("model") is not None:
        return settings.model_copy(update={"fallback": False})
    return settings


def load_background(path: Path | None, options: ProcessOptions) -> Image.Image | None:
    """The --bg-image picture, required by --mode image and refused otherwise."""
    if options.mode != "image":
        if path is not None:
            raise click.UsageError("--bg-image goes with --mode image")
        return None
    if path is None:
        raise click.UsageError("--mode image needs --bg-image")
    try:
        with Image.open(path) as picture:
            return picture.convert("RGB")
    except OSError as exc:
        raise click.UsageError(f"--bg-image {path}: not a readable image ({exc})") from exc


def fail(exc: CutoutError, where: Path | str) -> click.ClickException:
    """One clear line for a CutoutError about `where`."""
    return click.ClickException(f"{where}: {exc.code}: {exc.message}")
