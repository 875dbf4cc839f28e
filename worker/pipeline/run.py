"""The whole pipeline for one image: decode, segment, render, encode, with stage timings.

Pure functions with their dependencies passed in (the model loader, the settings), so the
same code serves the Celery task, the `cutout` command, the eval command and the Python API.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
from PIL import Image

from shared.errors import InferenceFailed, ModelUnavailable
from shared.imageinfo import ImageInfo, probe
from shared.metrics.proxy import ProxyMetrics
from shared.metrics.review import Quality
from shared.options import ProcessOptions
from shared.settings import Settings
from worker.fallback import METHOD as FALLBACK_METHOD
from worker.fallback import grabcut_mask
from worker.models.cpu import thread_count
from worker.models.session import get_model
from worker.pipeline.compose import combine_alpha, compose
from worker.pipeline.decode import DecodedImage, decode
from worker.pipeline.encode import MEDIA_TYPES, encode
from worker.pipeline.refine import refine_alpha
from worker.pipeline.review import review
from worker.pipeline.segment import Model, ModelLoader, full_size_mask, model_tensor, probability
from worker.pipeline.timing import StageTimer
from worker.presets import preset_model

Source = bytes | BinaryIO | Path
log = logging.getLogger(__name__)

# Above this many pixels the full-resolution buffers are big enough to be kept apart from the
# model's activations (two-pass decode, arena shrinkage; see _model_probability).
LARGE_IMAGE_PIXELS = 4_000_000
# The preview a large JPEG is decoded at for the model: at least twice the 320 px input, so
# the final LANCZOS step still averages several source pixels per model pixel.
PREVIEW_SIZE = (640, 640)


@dataclass
class Masked:
    """A decoded image and its full-resolution alpha."""

    decoded: DecodedImage
    alpha: Image.Image
    method: str
    warnings: list[str]
    engine: str | None = None  # None when the fallback made the mask
    signals: dict[str, float] | None = None  # the model maps' review signals


@dataclass
class Outcome:
    """What one run produced besides the encoded file: the mask, metrics and timings."""

    info: ImageInfo
    mask: Image.Image
    method: str
    output_format: str
    output_size: tuple[int, int]
    proxy: ProxyMetrics
    timings_ms: dict[str, float]
    warnings: list[str] = field(default_factory=list)
    engine: str | None = None
    # The subject's box in the output picture (remove.bg's X-Foreground-* headers); None
    # when no subject was found.
    foreground: dict[str, int] | None = None
    quality: Quality | None = None

    @property
    def media_type(self) -> str:
        return MEDIA_TYPES[self.output_format]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary (no pixels)."""
        return {
            "input": self.info.to_dict(),
            "method": self.method,
            "engine": self.engine,
            "output": {
                "format": self.output_format,
                "size": list(self.output_size),
                "foreground": self.foreground,
            },
            "metrics": self.proxy.to_dict(),
            "quality": self.quality.to_dict() if self.quality else None,
            "timings_ms": self.timings_ms,
            "warnings": self.warnings,
        }


def resolve(options: ProcessOptions, settings: Settings) -> ProcessOptions:
    """The options with the preset's and the settings' defaults filled in."""
    preset = options.preset or settings.preset
    model = settings.model if options.compat else preset_model(preset, settings)
    return options.resolved(default_preset=settings.preset, default_model=model)


def default_loader(settings: Settings) -> ModelLoader:
    """Load models through the process-wide session cache."""
    return functools.partial(get_model, settings=settings)


def _model_probability(
    source: Source,
    model: Model,
    *,
    large: bool,
    exact_rembg: bool,
    settings: Settings,
    timer: StageTimer,
) -> tuple[tuple[np.ndarray, dict[str, float]], DecodedImage | None]:
    """The model's probability map and review signals, and the decoded image when it is
    worth keeping.

    A large image is decoded twice: first a preview for the model (a JPEG at reduced DCT
    scale; rembg's exact mode needs the full pixels), dropped before inference, then in full
    once the inference arena has shrunk back. The two never sit in memory together with the
    model's activations, which keeps a 25 MP job inside a 512 MB worker.
    """
    preview_size = None if exact_rembg or not large else PREVIEW_SIZE
    with timer.stage("decode"):
        decoded = decode(
            source,
            max_megapixels=settings.max_megapixels,
            convert_icc=not exact_rembg,
            reduce_to=preview_size,
        )
    tensor = model_tensor(decoded.rgb, model, exact_rembg=exact_rembg, timer=timer)
    kept = None if large else decoded
    del decoded
    return probability(tensor, model, shrink_arena=large, timer=timer), kept


def mask_image(
    source: Source,
    options: ProcessOptions,
    *,
    settings: Settings,
    load_model: ModelLoader | None = None,
    timer: StageTimer,
) -> Masked:
    """Decode `source` and find its full-resolution alpha (the model's, or the fallback's)."""
    options = resolve(options, settings)
    exact_rembg = options.compat == "rembg"
    info = probe(source, max_megapixels=settings.max_megapixels)
    large = info.width * info.height > LARGE_IMAGE_PIXELS
    model_name = options.model or "u2netp"
    decoded, warnings, engine, signals = None, [], None, None
    try:
        # rembg runs onnxruntime: its exact masks come from the same engine.
        engine_settings = (
            settings.model_copy(update={"engine": "onnxruntime"}) if exact_rembg else settings
        )
        model = (load_model or default_loader(engine_settings))(model_name)
        method, engine = model.name, getattr(model, "engine", None)
        (probability_map, signals), decoded = _model_probability(
            source, model, large=large, exact_rembg=exact_rembg, settings=settings, timer=timer
        )
    except (ModelUnavailable, InferenceFailed) as exc:
        if not settings.fallback:
            raise
        log.warning("model %s unusable (%s); using %s", model_name, exc.message, FALLBACK_METHOD)
        method, engine, probability_map = FALLBACK_METHOD, None, None
        warnings = [f"{exc.code}: {exc.message}"]
    if decoded is None:
        with timer.stage("decode"):
            decoded = decode(
                source, max_megapixels=settings.max_megapixels, convert_icc=not exact_rembg
            )
    if probability_map is None:
        with timer.stage("fallback"):
            mask = grabcut_mask(decoded.rgb)
    else:
        mask = full_size_mask(
            probability_map,
            decoded.rgb.size,
            exact_rembg=exact_rembg,
            cleanup=options.cleanup,
            timer=timer,
        )
        if options.refine_edges and not exact_rembg:
            # After the full decode: for a large image the model's arena is handed back by now.
            with timer.stage("refine"):
                mask = refine_alpha(decoded.rgb, mask)
    # rembg drops the input's own transparency; everywhere else it stays transparent.
    alpha = mask if exact_rembg else combine_alpha(mask, decoded.alpha)
    return Masked(decoded, alpha, method, warnings, engine, signals)


def make_picture(
    source: Source,
    options: ProcessOptions,
    *,
    settings: Settings,
    load_model: ModelLoader | None = None,
    background: Image.Image | None = None,
    timer: StageTimer | None = None,
) -> tuple[Image.Image, Outcome]:
    """The output picture for `source` (not yet encoded) and the run's outcome."""
    timer = timer or StageTimer()
    options = resolve(options, settings)
    masked = mask_image(source, options, settings=settings, load_model=load_model, timer=timer)
    with timer.stage("metrics"):
        proxy, quality = review(masked.alpha, masked.signals, settings.review_threshold)
    with timer.stage("compose"):
        composed = compose(masked.decoded.rgb, masked.alpha, options, background)
    picture = composed.picture
    outcome = Outcome(
        info=masked.decoded.info,
        mask=masked.alpha,
        method=masked.method,
        engine=masked.engine,
        output_format=options.output_format,
        output_size=picture.size,
        proxy=proxy,
        timings_ms=timer.milliseconds,
        warnings=masked.warnings + composed.warnings,
        foreground=None if composed.foreground is None else composed.foreground.to_dict(),
        quality=quality,
    )
    return picture, outcome


def process(
    source: Source,
    target: BinaryIO,
    options: ProcessOptions,
    *,
    settings: Settings,
    load_model: ModelLoader | None = None,
    background: Image.Image | None = None,
) -> Outcome:
    """Cut the subject out of `source` as `options` ask and encode the result into `target`."""
    timer = StageTimer()
    picture, outcome = make_picture(
        source,
        options,
        settings=settings,
        load_model=load_model,
        background=background,
        timer=timer,
    )
    with timer.stage("encode"):
        encode(
            picture,
            target,
            options.output_format,
            quality=options.quality,
            png_compress_level=settings.png_compress_level,
            threads=thread_count(settings.inference_threads),
        )
    return outcome
