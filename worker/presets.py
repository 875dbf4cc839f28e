"""The model a preset runs on this machine."""

from __future__ import annotations

from shared.options import PRESETS
from shared.settings import Settings
from worker.models.instructions import int8_pays

# An int8 build and the fp32 model it was quantized from (scripts/quantize_model.py).
FP32_OF = {"u2netp-int8": "u2netp"}


def preset_model(preset: str, settings: Settings, *, int8_faster: bool | None = None) -> str:
    """CUTOUT_MODEL when set, else the preset's model. On a CPU where int8 does not pay
    (`int8_pays`; `int8_faster` says it instead) an int8 build gives way to the fp32 model it
    came from: the same speed there, and better masks."""
    if settings.model is not None:
        return settings.model
    model: str = PRESETS[preset]["model"]
    faster = int8_pays() if int8_faster is None else int8_faster
    return model if faster else FP32_OF.get(model, model)
