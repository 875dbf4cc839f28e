# The thin HTTP API: Flask under gunicorn. No onnxruntime, no worker code (see STYLE.md).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app

# requirements-api.txt includes requirements-shared.txt with -r, so both are needed here.
COPY requirements-api.txt requirements-shared.txt ./
RUN pip install -r requirements-api.txt

COPY shared/ shared/
COPY api/ api/

RUN useradd --system --no-create-home --uid 10001 cutout
USER cutout

EXPOSE 8000
CMD ["gunicorn", "--bind", "0.0.0.0:8000", "--workers", "2", "--threads", "4", \
     "--access-logfile", "-", "api.wsgi:app"]
