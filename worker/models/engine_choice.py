"""Which inference engine runs a model: the one the settings name, or for `auto` the one
bench/engines.py measured faster for that model on this kind of machine.
"""

from __future__ import annotations

from typing import Literal

import onnxruntime as ort

from shared.errors import ModelUnavailable
from shared.settings import Settings
from worker.models.instructions import is_x86
from worker.models.openvino_engine import openvino_available

Engine = Literal["onnxruntime", "openvino"]
# From bench/engines.py (bench/results/engines.json; x86 Xeon with AMX, 2 threads, f32 hint),
# in 4 runs: OpenVINO took 0.77-0.90x onnxruntime's time on u2netp with masks within 1 grey
# level, and 0.38-0.55x on u2netp-int8 (mean mask change from fp32 1.2/255 against
# onnxruntime's 1.5/255). Models not measured stay on onnxruntime, the engine the README's
# quality figures come from.
MEASURED_FASTER: dict[str, Engine] = {"u2netp": "openvino", "u2netp-int8": "openvino"}


def cuda_wanted(execution_provider: str) -> bool:
    """Whether onnxruntime will run on CUDA with this provider setting."""
    has_cuda = "CUDAExecutionProvider" in ort.get_available_providers()
    return execution_provider == "cuda" or (execution_provider == "auto" and has_cuda)


def choose_engine(model_name: str, settings: Settings) -> Engine:
    """The engine for this model: the setting's, or for `auto` the measured faster one."""
    if settings.engine == "openvino" and settings.execution_provider == "cuda":
        raise ModelUnavailable(
            "CUTOUT_ENGINE=openvino runs on the CPU; CUTOUT_EXECUTION_PROVIDER=cuda needs "
            "CUTOUT_ENGINE=onnxruntime or auto"
        )
    if settings.engine != "auto":
        return settings.engine
    measured = MEASURED_FASTER.get(model_name, "onnxruntime")
    if measured == "onnxruntime" or cuda_wanted(settings.execution_provider) or not is_x86():
        return "onnxruntime"
    # Last, so that workers that will not use OpenVINO never import it.
    return measured if openvino_available() else "onnxruntime"
