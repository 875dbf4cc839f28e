"""The Flask app factory: defaults, then the environment, then what a test passes in."""

from __future__ import annotations

from typing import Any

from flask import Flask

from api import compat, health, jobs
from api.auth import authenticate
from api.errors import register_error_handlers
from api.queue import CeleryQueue, JobQueue
from api.services import Services
from shared.jobs import JobStore
from shared.keys import KeyStore
from shared.settings import Settings, get_settings
from shared.storage import Storage, storage_from_settings
from shared.tasks import redis_client

# Room for the form fields and a background or ground-truth file beside the image; each
# file is also checked on its own against CUTOUT_MAX_UPLOAD_BYTES.
REQUEST_FILES = 3


def create_app(
    config: dict[str, Any] | None = None,
    *,
    settings: Settings | None = None,
    store: JobStore | None = None,
    storage: Storage | None = None,
    queue: JobQueue | None = None,
    keys: KeyStore | None = None,
) -> Flask:
    """The API; tests pass fakes for the store, storage, queue and key store."""
    settings = settings or get_settings()
    app = Flask(__name__)
    app.config.update(MAX_CONTENT_LENGTH=REQUEST_FILES * settings.max_upload_bytes + 64 * 1024)
    app.json.sort_keys = False  # type: ignore[attr-defined]  # keep id and status first
    app.config.update(config or {})
    store = store or JobStore(
        redis_client(settings), retention_seconds=settings.job_retention_seconds
    )
    app.extensions["cutout"] = Services(
        settings=settings,
        store=store,
        storage=storage or storage_from_settings(settings),
        queue=queue or CeleryQueue(settings),
        keys=keys or KeyStore(store.redis),
    )
    app.before_request(authenticate)
    for module in (jobs, compat, health):
        app.register_blueprint(module.blueprint)
    register_error_handlers(app)
    return app
