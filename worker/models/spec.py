"""Model specs: what a u2net-family ONNX file expects and returns, and the registry by name.

Any u2net-family file (u2net, u2netp, silueta, isnet-general-use, ...) shares one contract:
an RGB image resized to a square, divided by its own maximum, standardised with a mean/std,
NCHW float32 in; a saliency map out (output `output_index`, channel 0).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass(frozen=True)
class ModelSpec:
    """How to feed one model file and read its mask."""

    name: str
    file_name: str
    input_size: tuple[int, int] = (320, 320)
    mean: tuple[float, float, float] = IMAGENET_MEAN
    std: tuple[float, float, float] = IMAGENET_STD
    output_index: int = 0
    sha256: str | None = None


REGISTRY: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in (
        ModelSpec(
            "u2netp",
            "u2netp.onnx",
            sha256="309c8469258dda742793dce0ebea8e6dd393174f89934733ecc8b14c76f4ddd8",
        ),
        # Built here from u2netp.onnx by scripts/quantize_model.py, so there is no hash to pin:
        # its sidecar u2netp-int8.json records the fp32 file's hash it was built from.
        ModelSpec("u2netp-int8", "u2netp-int8.onnx"),
        ModelSpec("u2net", "u2net.onnx"),
        ModelSpec("silueta", "silueta.onnx"),
        ModelSpec(
            "isnet-general-use",
            "isnet-general-use.onnx",
            input_size=(1024, 1024),
            mean=(0.5, 0.5, 0.5),
            std=(1.0, 1.0, 1.0),
        ),
    )
}


def resolve_spec(name_or_path: str, model_dir: Path) -> tuple[ModelSpec, Path]:
    """The spec and file for a registered model name or a path to a u2net-family ONNX file.

    A path whose stem is a registered name takes that name's spec (minus its pinned hash,
    since the file is the caller's); any other path gets u2net's defaults, and the engine
    reads the real input size from the file when it loads it.
    """
    if name_or_path in REGISTRY:
        spec = REGISTRY[name_or_path]
        return spec, model_dir / spec.file_name
    path = Path(name_or_path)
    known = REGISTRY.get(path.stem)
    spec = replace(known, sha256=None) if known else ModelSpec(path.stem, path.name)
    return spec, path
