# A Celery worker holding one u2netp session; one job at a time, 512 MB (docker-compose.yml).

# Build stage: fetch the fp32 weights (hash-checked) and build the int8 model from them with
# the quantization tools (onnx, scikit-image's photos), which the worker itself does not need.
FROM python:3.11-slim AS models
WORKDIR /build
COPY requirements-worker.txt requirements-shared.txt requirements-dev.txt requirements-api.txt ./
RUN pip install --no-cache-dir -r requirements-worker.txt \
    $(grep -E '^(onnx|scikit-image)==' requirements-dev.txt | cut -d' ' -f1)
COPY shared/ shared/
COPY worker/ worker/
COPY scripts/ scripts/
RUN python scripts/fetch_model.py --model-dir /models \
    && PYTHONPATH=/build python scripts/quantize_model.py --model-dir /models

FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    CUTOUT_MODEL_DIR=/models
WORKDIR /app

# requirements-worker.txt includes requirements-shared.txt with -r, so both are needed here.
COPY requirements-worker.txt requirements-shared.txt ./
RUN pip install -r requirements-worker.txt

# The weights are baked in at build time (scripts/fetch_model.py checks the fp32 file's
# sha256; the int8 file is built from it): workers never reach a model hub at run time.
COPY --from=models /models /models

COPY shared/ shared/
COPY worker/ worker/
COPY scripts/ scripts/
# The `cutout` command (its dependencies are the worker's), for the operator:
#   docker compose exec worker cutout keys create NAME
COPY cutout/ cutout/
RUN printf '#!/bin/sh\nexec python -c "from cutout.cli.main import cli; cli(prog_name=\047cutout\047)" "$@"\n' \
    > /usr/local/bin/cutout && chmod 755 /usr/local/bin/cutout

RUN useradd --system --no-create-home --uid 10001 cutout \
    && mkdir -p /var/cache/cutout/openvino && chown cutout /var/cache/cutout/openvino
USER cutout

# OpenVINO's compiled models, made once here so a new worker child does not spend 0.7 s
# (fp32) to 3 s (int8) compiling; on a CPU unlike the build machine's it compiles again
# into the same folder.
ENV CUTOUT_OPENVINO_CACHE_DIR=/var/cache/cutout/openvino
RUN python -c "from shared.settings import get_settings; \
from worker.models.session import get_model; \
[get_model(name, get_settings()) for name in ('u2netp', 'u2netp-int8')]"

# Options as scripts/run_local.py WORKER_OPTIONS (mingle and gossip: unused, ~1 s of start-up).
CMD ["celery", "-A", "worker.celery_app:app", "worker", "--concurrency=1", "--loglevel=INFO", \
     "--without-mingle", "--without-gossip"]
