"""The Flask app factory: defaults, then the environment, then what a test passes in."""

from __future__ import annotations

from typing import Any

from flask import Flask

from api import compat, health, jobs
from api.auth import authenticate
from api.backpressure import install_sync_slots
from api.errors import register_error_handlers
from api.limits import install_limits
from api.queue import CeleryQueue, JobQueue
from api.security import install_security
from api.services import Services
from api.uploads import MAX_FORM_MEMORY_SIZE, MAX_FORM_PARTS, UploadRequest
from shared.jobs import JobStore
from shared.keys import KeyStore
from shared.netguard import Resolver, system_resolver
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
    resolver: Resolver | None = None,
) -> Flask:
    """The API; tests pass fakes for the store, storage, queue, key store and DNS resolver."""
    settings = settings or get_settings()
    app = Flask(__name__)
    app.request_class = UploadRequest
    app.config.update(
        MAX_CONTENT_LENGTH=REQUEST_FILES * settings.max_upload_bytes + 64 * 1024,
        MAX_FORM_PARTS=MAX_FORM_PARTS,
        MAX_FORM_MEMORY_SIZE=MAX_FORM_MEMORY_SIZE,
    )
    app.json.sort_keys = False  # type: ignore[attr-defined]  # keep id and status first
    app.config.update(config or {})
    store = store or JobStore(
        redis_client(settings),
        retention_seconds=settings.job_retention_seconds,
        public_url=settings.public_url,
    )
    app.extensions["cutout"] = Services(
        settings=settings,
        store=store,
        storage=storage or storage_from_settings(settings),
        queue=queue or CeleryQueue(settings),
        keys=keys or KeyStore(store.redis),
        resolver=resolver or system_resolver,
    )
    # Order matters: CORS preflights are answered before authentication, and the rate
    # limiter needs the tenant that authentication finds.
    install_security(app, settings)
    app.before_request(authenticate)
    install_limits(app, settings)
    install_sync_slots(app, settings.sync_wait_slots)
    for module in (jobs, compat, health):
        app.register_blueprint(module.blueprint)
    register_error_handlers(app)
    return app
