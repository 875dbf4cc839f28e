"""What the views need (settings, job store, storage, queue), held by the app."""

from __future__ import annotations

from dataclasses import dataclass, field

from flask import current_app

from api.queue import JobQueue
from shared.jobs import JobStore
from shared.keys import KeyStore
from shared.netguard import Resolver, system_resolver
from shared.settings import Settings
from shared.storage import Storage


@dataclass
class Services:
    settings: Settings
    store: JobStore
    storage: Storage
    queue: JobQueue
    keys: KeyStore
    # How webhook_url hosts are resolved when checked (tests pass a fake: no real DNS).
    resolver: Resolver = field(default=system_resolver)


def services() -> Services:
    """The current app's services."""
    return current_app.extensions["cutout"]
