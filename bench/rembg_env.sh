#!/usr/bin/env bash
# Build .venv-bench: the real rembg (with pymatting, for alpha_matting=True, and its CLI
# extras, for `rembg p` in bench/cli_batch.py) beside our own venv, for comparisons only:
# rembg, pymatting, numba and gradio stay out of the product's venv.
#
# rembg 2.0.86 looks for $U2NET_HOME/models/u2netp/u2netp.onnx, then $U2NET_HOME/u2netp.onnx
# (the older flat layout), and downloads only when neither exists; an existing file is used as
# is (its md5 is checked only on download). We copy our model (same md5) to the flat path, so
# rembg never downloads; run it with U2NET_HOME=.venv-bench/u2net (the bench script sets it).
#
# Usage: bash bench/rembg_env.sh   (from the repository root; idempotent)
set -euo pipefail

PYTHON=${PYTHON:-python3.11}
VENV=${VENV:-.venv-bench}
MODEL=${CUTOUT_MODEL_DIR:-models}/u2netp.onnx
# The md5 rembg 2.0.86 pins for u2netp.onnx (sessions/u2netp.py): the same file as ours.
U2NETP_MD5=8e83ca70e441ab06c318d82300c84806

test -f "$MODEL" || { echo "missing $MODEL: run make setup first" >&2; exit 1; }
test -x "$VENV/bin/python" || "$PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --upgrade pip
# rembg 2.0.86 is the newest 2.0.x. The constraints pin what it resolved to (pillow as in our
# venv, so both decode alike) for repeatable runs; the second line pins the `cli` extra's
# direct requirements (without them `rembg p` only prints an install hint).
"$VENV/bin/python" -m pip install --quiet "rembg[cpu,cli]==2.0.86" -c <(printf '%s\n' \
    onnxruntime==1.31.1 PyMatting==1.1.16 numba==0.68.1 llvmlite==0.50.0 numpy==2.4.6 \
    scipy==1.17.1 scikit-image==0.26.0 pillow==12.3.0 pooch==1.9.0 jsonschema==4.26.0 \
    tqdm==4.70.1 ImageIO==2.38.1 tifffile==2026.3.3 networkx==3.6.1 lazy-loader==0.6 \
    protobuf==7.36.2 flatbuffers==25.12.19 requests==2.34.2 platformdirs==4.14.7 \
    click==8.5.1 filetype==1.2.0 watchdog==6.0.0 aiohttp==3.14.5 asyncer==0.0.12 \
    fastapi==0.128.8 gradio==6.15.1 uvicorn==0.40.0 python-multipart==0.0.21 sniffio==1.3.1)

mkdir -p "$VENV/u2net"
cp "$MODEL" "$VENV/u2net/u2netp.onnx"
echo "$U2NETP_MD5  $VENV/u2net/u2netp.onnx" | md5sum --check --quiet
# Prove the lookup finds the copy without touching the network.
U2NET_HOME="$VENV/u2net" "$VENV/bin/python" -c '
import sys
from rembg.sessions.u2netp import U2netpSession
path = U2netpSession.download_models()
print("rembg uses", path)
sys.exit(0 if path.endswith("u2net/u2netp.onnx") else 1)
'
# The folder command bench/cli_batch.py times must start (it exits 1 without the cli extra).
"$VENV/bin/rembg" p --help >/dev/null
