"""Inference engines side by side: onnxruntime and OpenVINO on u2netp, fp32 and int8.

    .venv/bin/python -m bench.engines [--rounds 10] [--threads 2]

Per engine x model, at 320x320: median ms per inference (rounds interleaved, so machine load
hits every engine alike), load time with and without OpenVINO's cache and peak RSS (each in a
fresh process that loads the model and runs it 10 times), mask difference from onnxruntime
fp32 on scikit-image's photos, and achieved GFLOP/s. Then where onnxruntime's fp32 time goes
(its profiler, summed by op type) and OpenVINO's (its per-node counters, fp32 and int8),
and whether batches of 2 or 4 raise images/s.
Prints markdown tables; writes bench/results/engines.json (or --out).
"""

from __future__ import annotations

import argparse
import functools
import json
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
from PIL import Image

from bench.machine import load_average
from shared.settings import REPO_ROOT
from worker.models import session as session_module
from worker.models.openvino_engine import OpenVinoModel, compile_config, openvino_available
from worker.models.session import OnnxModel
from worker.models.spec import REGISTRY, ModelSpec
from worker.pipeline.mask import normalise, to_full_size
from worker.pipeline.preprocess import model_input

# onnx, openvino and scikit-image are imported where they are used: the fresh processes that
# measure load time and peak RSS must import what a worker imports, and no more.
MODEL_DIR = REPO_ROOT / "models"
RESULTS = REPO_ROOT / "bench" / "results" / "engines.json"
CHILD_RUNS = 10
# Batches are slow, and memory peaks on the first run anyway.
BATCH_CHILD_RUNS = 3
BATCH_SIZES = (1, 2, 4)
BATCH_VARIANTS = ("ort-fp32", "ov-fp32", "ov-int8")
# Between two timed runs: the previous engine's worker threads spin for a while after a
# run, and must not steal the cores from the next one.
SETTLE_SECONDS = 0.05


@dataclass(frozen=True)
class Variant:
    """One engine running one model file with one precision setting."""

    key: str
    engine: str
    model: str
    hint: str = "f32"  # OpenVINO's INFERENCE_PRECISION_HINT; "default" leaves it to OpenVINO


VARIANTS = (
    Variant("ort-fp32", "onnxruntime", "u2netp"),
    Variant("ort-int8", "onnxruntime", "u2netp-int8"),
    Variant("ov-fp32", "openvino", "u2netp"),
    Variant("ov-int8", "openvino", "u2netp-int8"),
    Variant("ov-fp32-default-hint", "openvino", "u2netp", hint="default"),
)
REFERENCE = VARIANTS[0]


class DefaultHintModel:
    """OpenVINO left to pick its own precision (bf16 on CPUs that have it): the bench shows
    what the explicit f32 hint prevents. Not a production engine."""

    def __init__(self, spec: ModelSpec, path: Path, *, threads: int, cache_dir: Path | None):
        import openvino as ov

        config = compile_config(threads, cache_dir)
        del config["INFERENCE_PRECISION_HINT"]
        self._compiled = ov.Core().compile_model(str(path), "CPU", config)
        self._request = self._compiled.create_infer_request()
        self.spec = spec

    def compiled_property(self, name: str) -> Any:
        return self._compiled.get_property(name)

    def predict(self, tensor: np.ndarray) -> np.ndarray:
        return np.array(self._request.infer({0: tensor})[0][0, 0])


def load(variant: Variant, threads: int, cache_dir: Path | None) -> Any:
    """The variant's model, loaded the way the worker loads it."""
    spec = REGISTRY[variant.model]
    path = MODEL_DIR / spec.file_name
    if variant.engine == "onnxruntime":
        return OnnxModel(spec, path, threads=threads)
    if variant.hint == "default":
        return DefaultHintModel(spec, path, threads=threads, cache_dir=cache_dir)
    return OpenVinoModel(spec, path, threads=threads, cache_dir=cache_dir)


def precision(model: Any) -> str:
    """The precision the engine really runs in, as it reports it."""
    if isinstance(model, OnnxModel):
        return "int8 QDQ" if "int8" in model.spec.name else "f32"
    return str(model.compiled_property("INFERENCE_PRECISION_HINT").to_string())


def photos() -> dict[str, Image.Image]:
    """scikit-image's bundled photos (installed with the dev requirements)."""
    from skimage import data

    return {
        name: Image.fromarray(getattr(data, name)()).convert("RGB")
        for name in ("astronaut", "chelsea", "coffee")
    }


def conv_gflop(path: Path) -> float:
    """2 x the multiply-accumulates of every Conv (one MAC = 2 FLOP), from the graph's shapes."""
    import onnx
    from onnx import shape_inference

    graph = shape_inference.infer_shapes(onnx.load(path)).graph
    shapes = {
        info.name: [dim.dim_value for dim in info.type.tensor_type.shape.dim]
        for info in [*graph.value_info, *graph.output]
    }
    weights = {init.name: list(init.dims) for init in graph.initializer}
    macs = 0
    for node in graph.node:
        if node.op_type == "Conv":
            _, out_channels, height, width = shapes[node.output[0]]
            _, in_per_group, k_h, k_w = weights[node.input[1]]
            macs += out_channels * height * width * in_per_group * k_h * k_w
    return 2 * macs / 1e9


def interleaved_ms(runs: dict[str, Callable[[], object]], rounds: int) -> dict[str, list[float]]:
    """Milliseconds per call of each function, one call each per round, order rotated."""
    keys = list(runs)
    for run in runs.values():  # warm-up: first runs allocate and tune
        run()
        run()
    times: dict[str, list[float]] = {key: [] for key in keys}
    for round_index in range(rounds):
        shift = round_index % len(keys)
        for key in keys[shift:] + keys[:shift]:
            time.sleep(SETTLE_SECONDS)
            start = time.perf_counter()
            runs[key]()
            times[key].append((time.perf_counter() - start) * 1000)
    return times


def ratio_to(times: dict[str, list[float]], key: str, reference: str) -> float:
    """Median over rounds of this key's time / the reference's in the same round."""
    return statistics.median(t / r for t, r in zip(times[key], times[reference], strict=True))


def mask(model: Any, picture: Image.Image) -> np.ndarray:
    """The pipeline's 8-bit full-size mask, as float for differences."""
    saliency = model.predict(model_input(picture, model.spec))
    return np.asarray(to_full_size(normalise(saliency), picture.size), dtype=np.float32)


def mask_differences(models: dict[str, Any], pictures: dict[str, Image.Image]) -> dict:
    """Mean and max |mask - onnxruntime fp32 mask| in grey levels, over all the photos."""
    reference = {name: mask(models[REFERENCE.key], p) for name, p in pictures.items()}
    result = {}
    for key, model in models.items():
        diffs = [np.abs(mask(model, p) - reference[name]) for name, p in pictures.items()]
        result[key] = {
            "mean": round(float(np.mean([d.mean() for d in diffs])), 2),
            "max": int(max(d.max() for d in diffs)),
        }
    return result


def child(key: str, threads: int, cache_dir: str, batch: int) -> None:
    """In a fresh process: load one variant, run it CHILD_RUNS times on `batch` images at once,
    print load s, peak RSS and the part of it that loading and running added."""
    variant = next(v for v in VARIANTS if v.key == key)
    tensor = np.random.default_rng(0).normal(size=(batch, 3, 320, 320)).astype(np.float32)
    # Libraries are counted in the peak, not in the model's part: import them first.
    if variant.engine == "openvino":
        openvino_available()
    if batch > 1:
        import onnx  # noqa: F401
    before_mb = _memory_mb("VmRSS")
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder:
        if batch > 1:
            run = batch_runner(variant, tensor, threads, Path(folder))
        else:
            model = load(variant, threads, Path(cache_dir) if cache_dir else None)
            run = functools.partial(model.predict, tensor)
        load_s = time.perf_counter() - start
        for _ in range(CHILD_RUNS if batch == 1 else BATCH_CHILD_RUNS):
            run()
    peak_mb = _memory_mb("VmHWM")
    row = {"load_s": round(load_s, 3), "peak_rss_mb": peak_mb, "model_rss_mb": peak_mb - before_mb}
    print(json.dumps(row))


def _memory_mb(field: str) -> int:
    # /proc, not getrusage: ru_maxrss survives exec, so a child would report the peak of
    # the parent it was forked from.
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) // 1024
    raise RuntimeError(f"no {field} in /proc/self/status")


def in_fresh_process(key: str, threads: int, cache_dir: Path | None, batch: int = 1) -> dict:
    """`child` in a new interpreter."""
    command = [sys.executable, "-m", "bench.engines", "--threads", str(threads)]
    command += ["--child", key, "--cache-dir", str(cache_dir or ""), "--batch", str(batch)]
    out = subprocess.run(command, capture_output=True, text=True, check=True, cwd=REPO_ROOT)
    return json.loads(out.stdout.strip().splitlines()[-1])


def load_and_memory(threads: int, cache_dir: Path) -> dict[str, dict]:
    """Per variant: load s, peak RSS and the model's part of it (peak minus RSS before the
    load), without OpenVINO's cache and (OpenVINO) with a warm one."""
    result = {}
    for variant in VARIANTS:
        cold = in_fresh_process(variant.key, threads, None)
        row = {f"{name}_cold": value for name, value in cold.items()}
        if variant.engine == "openvino":
            warm = in_fresh_process(variant.key, threads, cache_dir)
            row |= {f"{name}_cached": value for name, value in warm.items()}
        result[variant.key] = row
    return result


def _profile_events(threads: int, tensor: np.ndarray, runs: int, folder: Path) -> list[dict]:
    options = session_module._session_options(threads)  # the worker's own session options
    options.enable_profiling = True
    options.profile_file_prefix = str(folder / "ort-profile")
    path = MODEL_DIR / REGISTRY["u2netp"].file_name
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    feed = {session.get_inputs()[0].name: tensor}
    for _ in range(runs + 1):  # the first run allocates; it is left out below
        session.run(None, feed)
    return json.loads(Path(session.end_profiling()).read_text())


def _conv_macs(event: dict) -> int:
    (output,) = event["args"]["output_type_shape"][0].values()
    (weight,) = event["args"]["input_type_shape"][1].values()
    return int(np.prod(output)) * int(np.prod(weight[1:]))


def ort_op_breakdown(threads: int, tensor: np.ndarray, runs: int, folder: Path) -> dict:
    """Where onnxruntime's fp32 time goes: kernel ms per run by op type, and Conv by size."""
    events = _profile_events(threads, tensor, runs, folder)
    model_runs = sorted((e for e in events if e["name"] == "model_run"), key=lambda e: e["ts"])
    kernels = [
        e
        for e in events
        if e.get("cat") == "Node"
        and e["name"].endswith("_kernel_time")
        and e["ts"] >= model_runs[1]["ts"]
    ]
    by_op: dict[str, float] = defaultdict(float)
    conv_by_size: dict[int, list[float]] = defaultdict(lambda: [0.0, 0.0])
    for event in kernels:
        by_op[event["args"]["op_name"]] += event["dur"] / 1000 / runs
        if event["args"]["op_name"] == "Conv":
            (output,) = event["args"]["output_type_shape"][0].values()
            conv_by_size[output[2]][0] += 2 * _conv_macs(event) / 1e9 / runs
            conv_by_size[output[2]][1] += event["dur"] / 1000 / runs
    kernel_ms = sum(by_op.values())
    return {
        "run_ms": round(statistics.median(e["dur"] for e in model_runs[1:]) / 1000, 1),
        "kernel_ms": round(kernel_ms, 1),
        # More than the graph's count: the blocked (NCHWc) layout pads the seven 1-channel
        # side-output convs to 16 channels.
        "conv_gflop_as_run": round(sum(gflop for gflop, _ in conv_by_size.values()), 2),
        "op_types": [
            {"op": op, "ms": round(ms, 1), "share": round(ms / kernel_ms, 3)}
            for op, ms in sorted(by_op.items(), key=lambda item: -item[1])
        ],
        "conv_by_output_size": [
            {
                "size": size,
                "gflop": round(gflop, 2),
                "ms": round(ms, 1),
                "gflops": round(gflop / ms * 1000),
            }
            for size, (gflop, ms) in sorted(conv_by_size.items(), reverse=True)
        ],
    }


def ov_op_breakdown(threads: int, tensor: np.ndarray, runs: int) -> dict[str, list[dict]]:
    """Where OpenVINO's time goes, fp32 and int8: ms per run by node type and kernel.

    The `fast` preset's answer to "where the rest goes": its convolutions run on AMX/VNNI
    int8 kernels, while OpenVINO keeps the bilinear Resize ops in f32 between them and
    joins channels with a reference (unvectorised) Concat.
    """
    import openvino as ov

    breakdown = {}
    for key in ("u2netp", "u2netp-int8"):
        config = {**compile_config(threads, None), "PERF_COUNT": True}
        path = MODEL_DIR / REGISTRY[key].file_name
        request = ov.Core().compile_model(str(path), "CPU", config).create_infer_request()
        request.infer({0: tensor})  # the first run allocates; left out below
        by_kind: dict[tuple[str, str], float] = defaultdict(float)
        for _ in range(runs):
            request.infer({0: tensor})
            for node in request.profiling_info:
                seconds = node.real_time.total_seconds()
                by_kind[(node.node_type, node.exec_type)] += seconds * 1000 / runs
        total = sum(by_kind.values())
        # Node kinds under 1% of the run are left out of the table.
        breakdown[key] = [
            {"node": node, "kernel": kernel, "ms": round(ms, 1), "share": round(ms / total, 3)}
            for (node, kernel), ms in sorted(by_kind.items(), key=lambda item: -item[1])
            if ms >= total / 100
        ]
    return breakdown


def dense_conv_model(folder: Path) -> tuple[Path, float]:
    """One big 3x3 conv (256 -> 256 channels at 64x64): what this CPU reaches on a conv
    with plenty of work per weight, to compare u2netp's small-channel layers against."""
    import onnx

    channels, size = 256, 64
    rng = np.random.default_rng(0)
    weight = rng.normal(0, 0.05, (channels, channels, 3, 3)).astype(np.float32)
    graph = onnx.helper.make_graph(
        [onnx.helper.make_node("Conv", ["x", "w"], ["y"], pads=[1, 1, 1, 1])],
        "dense_conv",
        [
            onnx.helper.make_tensor_value_info(
                "x", onnx.TensorProto.FLOAT, [1, channels, size, size]
            )
        ],
        [
            onnx.helper.make_tensor_value_info(
                "y", onnx.TensorProto.FLOAT, [1, channels, size, size]
            )
        ],
        [onnx.numpy_helper.from_array(weight, "w")],
    )
    model = onnx.helper.make_model(graph, opset_imports=[onnx.helper.make_opsetid("", 17)])
    model.ir_version = 8
    path = folder / "dense_conv.onnx"
    onnx.save(model, path)
    return path, 2 * channels * channels * 9 * size * size / 1e9


def conv_peak(threads: int, rounds: int, folder: Path) -> dict:
    """GFLOP/s of the dense conv on each engine (f32), timed interleaved."""
    import openvino as ov

    path, gflop = dense_conv_model(folder)
    tensor = np.random.default_rng(1).normal(size=(1, 256, 64, 64)).astype(np.float32)
    options = session_module._session_options(threads)
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    request = ov.Core().compile_model(str(path), "CPU", compile_config(threads, None))
    request = request.create_infer_request()
    times = interleaved_ms(
        {
            "onnxruntime": lambda: session.run(None, {"x": tensor}),
            "openvino": lambda: request.infer({0: tensor}),
        },
        rounds,
    )
    return {
        key: {
            "gflops_median": round(gflop / statistics.median(ms) * 1000),
            "gflops_best": round(gflop / min(ms) * 1000),
        }
        for key, ms in times.items()
    }


def dynamic_batch_copy(path: Path, folder: Path) -> Path:
    """A copy whose batch dimension is free: the files fix it at 1, but every size inside the
    graph is computed from Shape ops, so freeing the input and outputs is enough."""
    import onnx

    model = onnx.load(path)
    for value in [*model.graph.input, *model.graph.output]:
        value.type.tensor_type.shape.dim[0].dim_param = "batch"
    target = folder / f"{path.stem}-batch.onnx"
    onnx.save(model, target)
    return target


def batch_runner(variant: Variant, batch: np.ndarray, threads: int, folder: Path) -> Callable:
    """A call that runs `batch` (N images) through the variant in one inference."""
    path = MODEL_DIR / REGISTRY[variant.model].file_name
    if variant.engine == "onnxruntime":
        options = session_module._session_options(threads)
        providers = ["CPUExecutionProvider"]
        session = ort.InferenceSession(
            str(dynamic_batch_copy(path, folder)), options, providers=providers
        )
        return lambda: session.run(None, {session.get_inputs()[0].name: batch})
    # OpenVINO reshapes the model itself, to a static batch: its fastest form.
    import openvino as ov

    core = ov.Core()
    model = core.read_model(str(path))
    model.reshape([len(batch), 3, 320, 320])
    request = core.compile_model(model, "CPU", compile_config(threads, None)).create_infer_request()
    return lambda: request.infer({0: batch})


def batch_throughput(
    threads: int, rounds: int, pictures: dict[str, Image.Image], folder: Path
) -> dict:
    """Images/s at batch sizes 1, 2 and 4 for onnxruntime fp32 and OpenVINO fp32 and int8.

    Each batch of N is timed against N single runs in the same round: equal work, so the
    machine's load weighs on both alike. Peak RSS at batch 4 comes from fresh processes.
    """
    spec = REGISTRY["u2netp"]
    tensors = [model_input(p, spec) for p in pictures.values()]
    stack = np.concatenate([*tensors, tensors[0][..., ::-1]]).astype(np.float32)
    variants = [v for v in VARIANTS if v.key in BATCH_VARIANTS]
    runs: dict[str, Callable[[], object]] = {}
    for variant in variants:
        single = batch_runner(variant, np.ascontiguousarray(stack[:1]), threads, folder)
        for size in BATCH_SIZES[1:]:
            batch = np.ascontiguousarray(stack[:size])
            runs[f"{variant.key}/{size}"] = batch_runner(variant, batch, threads, folder)
            runs[f"{variant.key}/1x{size}"] = lambda run=single, n=size: [run() for _ in range(n)]
    times = interleaved_ms(runs, rounds)
    rows = [_batch_row(times, variant.key, size) for variant in variants for size in BATCH_SIZES]
    memory = {
        key: in_fresh_process(key, threads, None, batch=BATCH_SIZES[-1]) for key in BATCH_VARIANTS
    }
    return {
        "model_input_batch_dim": _batch_dim(MODEL_DIR / spec.file_name),
        "rows": rows,
        f"batch_{BATCH_SIZES[-1]}_memory": memory,
    }


def _batch_row(times: dict[str, list[float]], key: str, size: int) -> dict:
    # Batch 1's figures come from the N-single-runs timings, so no separate runs are needed.
    batched = times[f"{key}/{size}"] if size > 1 else times[f"{key}/1x{BATCH_SIZES[-1]}"]
    images = size if size > 1 else BATCH_SIZES[-1]
    median = statistics.median(batched)
    ratio = ratio_to(times, f"{key}/{size}", f"{key}/1x{size}") if size > 1 else 1.0
    return {
        "variant": key,
        "batch": size,
        "ms_per_image": round(median / images, 1),
        "images_per_s": round(images * 1000 / median, 2),
        "time_vs_single_runs": round(ratio, 3),
    }


def _batch_dim(path: Path) -> int | str:
    import onnx

    dim = onnx.load(path).graph.input[0].type.tensor_type.shape.dim[0]
    return dim.dim_value or dim.dim_param


def engine_rows(times: dict, gflop: float, precisions: dict, diffs: dict, loads: dict) -> list:
    """One row per variant: speed, load, memory and mask difference."""
    rows = []
    for variant in VARIANTS:
        ms = times[variant.key]
        median = statistics.median(ms)
        rows.append(
            {
                "variant": variant.key,
                "engine": variant.engine,
                "model": variant.model,
                "precision": precisions[variant.key],
                "median_ms": round(median, 1),
                "best_ms": round(min(ms), 1),
                "time_vs_ort_fp32": round(ratio_to(times, variant.key, REFERENCE.key), 3),
                "gflops_median": round(gflop / median * 1000),
                "gflops_best": round(gflop / min(ms) * 1000),
                **loads[variant.key],
                "mask_diff_mean": diffs[variant.key]["mean"],
                "mask_diff_max": diffs[variant.key]["max"],
            }
        )
    return rows


def _warm(row: dict, name: str) -> object:
    # The worker's steady state: OpenVINO with its cache warm, onnxruntime as it always loads.
    return row.get(f"{name}_cached", row[f"{name}_cold"])


def print_tables(report: dict) -> None:
    print(
        "| engine / model | runs in | median ms | best ms | time vs ORT fp32 | GFLOP/s "
        "| load s (no cache / cache) | peak RSS MB (model's part) | mask diff mean / max |\n"
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"
    )
    for row in report["engines"]:
        load = f"{row['load_s_cold']}" + (
            f" / {row['load_s_cached']}" if "load_s_cached" in row else ""
        )
        print(
            f"| {row['engine']} {row['model']} | {row['precision']} | {row['median_ms']} "
            f"| {row['best_ms']} | {row['time_vs_ort_fp32']} | {row['gflops_median']} "
            f"| {load} | {_warm(row, 'peak_rss_mb')} ({_warm(row, 'model_rss_mb')}) "
            f"| {row['mask_diff_mean']} / {row['mask_diff_max']} |"
        )
    peak = report["dense_conv_peak"]
    print(
        f"\ndense 3x3 conv (256 ch, 64x64) GFLOP/s, median / best: onnxruntime "
        f"{peak['onnxruntime']['gflops_median']} / {peak['onnxruntime']['gflops_best']}, "
        f"openvino {peak['openvino']['gflops_median']} / {peak['openvino']['gflops_best']}"
    )
    profile = report["ort_fp32_profile"]
    print(
        f"\nonnxruntime fp32 profile: {profile['run_ms']} ms a run, kernels "
        f"{profile['kernel_ms']} ms, Conv GFLOP as run {profile['conv_gflop_as_run']} "
        f"(graph: {report['gflop_per_inference']})"
    )
    print("\n| onnxruntime fp32 op type | ms per run | share of kernel time |\n| --- | --- | --- |")
    for row in profile["op_types"]:
        print(f"| {row['op']} | {row['ms']} | {row['share']:.0%} |")
    for model, rows in report.get("openvino_profile", {}).items():
        print(
            f"\n| OpenVINO {model} node | kernel | ms per run | share |\n| --- | --- | --- | --- |"
        )
        for row in rows:
            print(f"| {row['node']} | {row['kernel']} | {row['ms']} | {row['share']:.0%} |")
    print("\n| Conv output size | GFLOP | ms per run | GFLOP/s |\n| --- | --- | --- | --- |")
    for row in profile["conv_by_output_size"]:
        print(f"| {row['size']} | {row['gflop']} | {row['ms']} | {row['gflops']} |")
    batching = report["batching"]
    print("\n| batch | variant | ms per image | images/s | time vs N single runs |")
    print("| --- | --- | --- | --- | --- |")
    for row in batching["rows"]:
        print(
            f"| {row['batch']} | {row['variant']} | {row['ms_per_image']} "
            f"| {row['images_per_s']} | {row['time_vs_single_runs']} |"
        )
    memory = batching[f"batch_{BATCH_SIZES[-1]}_memory"]
    print(
        f"\npeak RSS MB (model's part) at batch {BATCH_SIZES[-1]}: "
        + ", ".join(
            f"{key} {row['peak_rss_mb']} ({row['model_rss_mb']})" for key, row in memory.items()
        )
    )


def measure(threads: int, rounds: int, folder: Path) -> dict:
    """Every measurement in this module, in one temporary folder."""
    cache = folder / "ov-cache"
    started = time.perf_counter()
    pictures = photos()
    models = {v.key: load(v, threads, cache) for v in VARIANTS}  # also warms the cache
    tensor = model_input(pictures["astronaut"], REGISTRY["u2netp"])
    runs = {key: (lambda m=model: m.predict(tensor)) for key, model in models.items()}
    times = interleaved_ms(runs, rounds)
    diffs = mask_differences(models, pictures)
    precisions = {key: precision(model) for key, model in models.items()}
    del models, runs
    gflop = conv_gflop(MODEL_DIR / REGISTRY["u2netp"].file_name)
    loads = load_and_memory(threads, cache)
    return {
        "gflop_per_inference": round(gflop, 2),
        "engines": engine_rows(times, gflop, precisions, diffs, loads),
        "dense_conv_peak": conv_peak(threads, rounds, folder),
        "ort_fp32_profile": ort_op_breakdown(threads, tensor, 5, folder),
        "openvino_profile": ov_op_breakdown(threads, tensor, 5),
        "batching": batch_throughput(threads, max(3, rounds // 2), pictures, folder),
        "seconds": round(time.perf_counter() - started),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--rounds", type=int, default=10, help="interleaved timing rounds (batches: half)"
    )
    parser.add_argument("--threads", type=int, default=2, help="threads per inference")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--cache-dir", default="", help=argparse.SUPPRESS)
    parser.add_argument("--batch", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, default=RESULTS, help="where the JSON goes")
    args = parser.parse_args()
    if args.child:
        child(args.child, args.threads, args.cache_dir, args.batch)
        return
    import openvino as ov

    with tempfile.TemporaryDirectory() as folder:
        results = measure(args.threads, args.rounds, Path(folder))
    report = {
        "command": f"python -m bench.engines --rounds {args.rounds} --threads {args.threads}"
        + ("" if args.out == RESULTS else f" --out {args.out}"),
        "machine": {
            "cpu": ov.Core().get_property("CPU", "FULL_DEVICE_NAME"),
            "arch": platform.machine(),
            "load_average_at_end": load_average(),
        },
        "versions": {"onnxruntime": ort.__version__, "openvino": ov.__version__},
        "input": "320x320, skimage astronaut (timings); astronaut, chelsea, coffee (masks)",
        "gflop_counted": "2 x multiply-accumulates of all 119 Conv layers; bias, ReLU, "
        "pooling, resize and concat (~0.1 GFLOP) left out; int8 counted the same",
        **results,
    }
    print_tables(report)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
