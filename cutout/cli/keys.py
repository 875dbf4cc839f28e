"""`cutout keys`: create, list and revoke the service's API keys (in its Redis)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import TypeVar

import click
import redis

from shared.errors import CutoutError
from shared.keys import KeyStore
from shared.settings import get_settings
from shared.tasks import redis_client

T = TypeVar("T")


def _store() -> KeyStore:
    return KeyStore(redis_client(get_settings()))


def _when(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d %H:%M UTC")


@click.group()
def keys() -> None:
    """Manage API keys (Redis from CUTOUT_REDIS_URL)."""


@keys.command()
@click.argument("tenant")
def create(tenant: str) -> None:
    """Create a key for TENANT and print it (only this once: it is stored as a hash)."""
    key, record = _run(lambda: _store().create(tenant))
    click.echo(key)
    click.echo(f"key id {record.id} for tenant {record.tenant}; store it now", err=True)


@keys.command(name="list")
def list_keys() -> None:
    """List live keys: id, tenant, created (never the keys themselves)."""
    for record in _run(lambda: _store().list()):
        click.echo(f"{record.id}  {record.tenant}  {_when(record.created_at)}")


@keys.command()
@click.argument("key_id")
def revoke(key_id: str) -> None:
    """Revoke the key with id KEY_ID (see `cutout keys list`); it stops working at once."""
    record = _run(lambda: _store().revoke(key_id))
    click.echo(f"revoked {record.id} of tenant {record.tenant}")


def _run(action: Callable[[], T]) -> T:
    """Run a key-store call, turning its failures into one line and exit 1."""
    try:
        return action()
    except CutoutError as exc:
        raise click.ClickException(f"{exc.code}: {exc.message}") from exc
    except redis.RedisError as exc:
        url = get_settings().redis_url
        raise click.ClickException(
            f"store_unavailable: cannot reach Redis at {url} ({type(exc).__name__})"
        ) from exc
