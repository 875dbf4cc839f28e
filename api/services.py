"""What the views need (settings, job store, storage, queue), held by the app."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app

from api.queue import JobQueue
from shared.jobs import JobStore
from shared.keys import KeyStore
from shared.settings import Settings
from shared.storage import Storage


@dataclass
class Services:
    settings: Settings
    store: JobStore
    storage: Storage
    queue: JobQueue
    keys: KeyStore


def services() -> Services:
    """The current app's services."""
    return current_app.extensions["cutout"]
