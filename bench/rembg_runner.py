"""rembg's side of the benchmarks, both ends: the runner in .venv-bench and our client of it.

    .venv-bench/bin/python bench/rembg_runner.py serve            # JSON lines in and out
    .venv-bench/bin/python bench/rembg_runner.py probe IMAGE [--runs 2]

Each timed call is what `rembg p` does per file: `remove(jpeg_bytes, session=...)`, which
decodes, predicts, cuts out and saves a PNG into bytes. The file is read before the clock
starts, as on our side. `serve` keeps one session for the whole run, so bench/pipeline.py
can interleave rembg's calls with its own (a busy machine slows both alike): each request
line `{"image": PATH}` gets one line `{"ms": ..., "bytes": ...}`. `probe` is one fresh
process per image, for peak memory.

The runner uses only stdlib and rembg (imported inside the functions that run in rembg's
venv); the client below it (RembgServer, probe_command) only stdlib, so our venv imports
this file too. rembg reads our u2netp copy from U2NET_HOME=.venv-bench/u2net, inside a
network namespace with no interfaces when `unshare -n` works: nothing can be downloaded.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from importlib.metadata import version
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BENCH_VENV = ROOT / ".venv-bench"
BENCH_PYTHON = BENCH_VENV / "bin" / "python"
REMBG_CLI = BENCH_VENV / "bin" / "rembg"
U2NET_HOME = BENCH_VENV / "u2net"
MODEL = "u2netp"

# ---- the runner, in .venv-bench ---------------------------------------------------------------


def new_u2netp_session() -> Any:
    """rembg's u2netp session, refusing to start when the model file would be downloaded."""
    home = Path(os.environ.get("U2NET_HOME", ""))
    if not (home / "u2netp.onnx").is_file():
        sys.exit(f"no u2netp.onnx in U2NET_HOME={home}: run bash bench/rembg_env.sh")
    from rembg import new_session

    return new_session(MODEL)


def cut_out(session: Any, image: Path) -> dict[str, float]:
    """One timed remove + PNG save of `image` (read beforehand)."""
    from rembg import remove

    data = image.read_bytes()
    start = time.perf_counter()
    png = remove(data, session=session)
    return {"ms": round((time.perf_counter() - start) * 1000, 2), "bytes": len(png)}


def versions() -> dict[str, str]:
    """What ran on rembg's side."""
    names = ("rembg", "onnxruntime", "numpy", "pillow")
    return {"python": platform.python_version(), **{name: version(name) for name in names}}


def reply(payload: dict[str, Any]) -> None:
    # One JSON object per line on stdout; rembg's own chatter goes to stderr.
    sys.stdout.write(json.dumps(payload) + "\n")
    sys.stdout.flush()


def serve() -> None:
    """Answer `{"image": PATH}` lines until stdin closes; the first line out is the versions."""
    session = new_u2netp_session()
    reply({"ready": True, "versions": versions()})
    for line in sys.stdin:
        if line.strip():
            reply(cut_out(session, Path(json.loads(line)["image"])))


def probe(image: Path, runs: int) -> None:
    """Start, cut `image` out `runs` times, report the times and this process's peak RSS."""
    start = time.perf_counter()
    session = new_u2netp_session()
    setup_ms = round((time.perf_counter() - start) * 1000, 1)
    times = [cut_out(session, image)["ms"] for _ in range(runs)]
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB
    reply({"setup_ms": setup_ms, "ms": times, "peak_rss_mb": round(peak_mb, 1)})


# ---- the client, in our venv ------------------------------------------------------------------


def offline_prefix() -> list[str]:
    """`unshare -n` when allowed: rembg then has no network, proof that it never downloads."""
    try:
        subprocess.run(["unshare", "-n", "true"], check=True, capture_output=True)
    except (OSError, subprocess.CalledProcessError):
        return []
    return ["unshare", "-n"]


def rembg_env() -> dict[str, str]:
    """Our environment plus where rembg finds our u2netp copy."""
    return {**os.environ, "U2NET_HOME": str(U2NET_HOME)}


def rembg_missing() -> str | None:
    """Why rembg cannot run here (None when it can)."""
    if not BENCH_PYTHON.exists():
        return "no .venv-bench: run `bash bench/rembg_env.sh`; rembg columns left empty"
    if not (U2NET_HOME / "u2netp.onnx").is_file():
        return f"no {U2NET_HOME}/u2netp.onnx: run `bash bench/rembg_env.sh`"
    return None


def probe_command(image: Path, runs: int) -> list[str]:
    """The command for one fresh rembg process on `image` (run it with rembg_env())."""
    script = str(Path(__file__).resolve())
    return [*offline_prefix(), str(BENCH_PYTHON), script, "probe", str(image), "--runs", str(runs)]


class RembgServer:
    """A `serve` process: one rembg session answering one image per request."""

    def __init__(self) -> None:
        command = [*offline_prefix(), str(BENCH_PYTHON), str(Path(__file__).resolve()), "serve"]
        self._process = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=rembg_env()
        )
        self.versions = self._read()["versions"]

    def _read(self) -> dict[str, Any]:
        assert self._process.stdout is not None
        line = self._process.stdout.readline()
        if not line:
            raise RuntimeError("bench/rembg_runner.py serve stopped (its stderr is above)")
        return json.loads(line)

    def cut_out(self, image: Path) -> float:
        """rembg's time (ms) for one remove + PNG save of `image`."""
        assert self._process.stdin is not None
        self._process.stdin.write(json.dumps({"image": str(image)}) + "\n")
        self._process.stdin.flush()
        return float(self._read()["ms"])

    def close(self) -> None:
        """Let the server see the end of its input and exit."""
        assert self._process.stdin is not None
        self._process.stdin.close()
        self._process.wait(timeout=60)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    steps = parser.add_subparsers(dest="step", required=True)
    steps.add_parser("serve", help="JSON lines: {image} in, {ms, bytes} out")
    probe_step = steps.add_parser("probe", help="one fresh process: times and peak RSS")
    probe_step.add_argument("image", type=Path)
    probe_step.add_argument("--runs", type=int, default=2)
    args = parser.parse_args()
    if args.step == "serve":
        serve()
    else:
        probe(args.image, args.runs)


if __name__ == "__main__":
    main()
