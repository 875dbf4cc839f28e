"""`cutout submit` and `cutout catalog`: the service's client commands (no model needed)."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from cutout.catalog import State, collect, items_of, start_or_resume, upload
from cutout.client import Client, ClientError

server_option = click.option("--server", help="Service URL (default: CUTOUT_SERVER).")
key_option = click.option("--api-key", help="API key (default: CUTOUT_API_KEY).")
options_option = click.option(
    "-o", "--option", "options", multiple=True, metavar="KEY=VALUE",
    help="A job option for every image, e.g. -o preset=fast -o mode=mask (repeatable).",
)  # fmt: skip
POLL_SECONDS = 1.0
T = TypeVar("T")


def _options(pairs: tuple[str, ...]) -> list[tuple[str, str]]:
    parsed = []
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{pair!r}: expected KEY=VALUE", param_hint="--option")
        parsed.append((key.strip(), value.strip()))
    return parsed


@click.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default=".", show_default=True)
@server_option
@key_option
@options_option
@click.option("-j", "--concurrency", default=4, show_default=True, help="Uploads at once.")
def submit(
    files: tuple[str, ...], out_dir: str, server: str | None, api_key: str | None,
    options: tuple[str, ...], concurrency: int,
) -> None:  # fmt: skip
    """Send FILES as single jobs (ahead of any batch), wait, save each result in --out."""
    client = _client(server, api_key)
    fields = _options(options)
    target = Path(out_dir)
    target.mkdir(parents=True, exist_ok=True)

    def one(path: Path) -> str:
        form = [("image", (path.name, path.read_bytes(), "application/octet-stream")), *fields]
        job = client.json("POST", "/v1/jobs", fields=form)
        while job["status"] in ("queued", "processing"):
            time.sleep(0.2)
            job = client.json("GET", job["links"]["self"])
        if job["status"] != "succeeded":
            code = (job.get("error") or {}).get("code", job["status"])
            return f"{path}: failed ({code})"
        ext = job["outputs"]["result"]["media_type"].split("/")[-1].replace("jpeg", "jpg")
        output = target / f"{path.stem}.cutout.{ext}"
        client.download(job["links"]["result"], output)
        return f"{path} -> {output}"

    failed = False
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        for line in _run(lambda: list(pool.map(one, [Path(f) for f in files]))):
            failed |= "failed (" in line
            click.echo(line)
    if failed:
        raise SystemExit(1)


@click.command()
@click.argument("source", type=click.Path(exists=True, path_type=Path))
@click.argument("out_dir", type=click.Path(file_okay=False, path_type=Path))
@server_option
@key_option
@options_option
@click.option("-j", "--concurrency", default=4, show_default=True, help="Requests at once.")
def catalog(
    source: Path, out_dir: Path, server: str | None, api_key: str | None,
    options: tuple[str, ...], concurrency: int,
) -> None:  # fmt: skip
    """Process a folder, zip or CSV/JSON URL list as one batch; results and report in OUT_DIR.

    Run it again to resume: only what is missing is sent or downloaded.
    """
    client = _client(server, api_key)
    out_dir.mkdir(parents=True, exist_ok=True)
    items = _run(lambda: items_of(source))
    state = State.load(out_dir)
    names = [item.name for item in items]

    def collect_quietly() -> None:
        collect(client, state, out_dir, concurrency)

    batch_id = _run(lambda: start_or_resume(client, state, _options(options), names))
    _run(lambda: upload(client, state, items, concurrency, lambda: collect_quietly()))
    with Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}"), TimeRemainingColumn(),
    ) as bar:  # fmt: skip
        task = bar.add_task(batch_id, total=len(items), rate="")
        while True:
            _run(lambda: collect(client, state, out_dir, concurrency))
            batches = _run(lambda: [client.batch(b) for b in state.batch_ids])
            speed = (batches[-1] or {}).get("images_per_second") if batches else None
            bar.update(task, completed=len(state.rows), rate=f"{speed or 0:.1f} img/s")
            if all(b is None or b["status"] in ("completed", "canceled") for b in batches):
                break
            time.sleep(POLL_SECONDS)
    _run(lambda: collect(client, state, out_dir, concurrency))
    failed = sum(row["status"] != "succeeded" for row in state.rows.values())
    click.echo(f"{len(state.rows)} items, {failed} failed; report: {out_dir / 'report.csv'}")


def _client(server: str | None, api_key: str | None) -> Client:
    return _run(lambda: Client.from_env(server, api_key))


def _run(action: Callable[[], T]) -> T:
    """Run a client step; its failures become one line and exit 1 (never a traceback)."""
    try:
        return action()
    except ClientError as exc:
        raise click.ClickException(str(exc)) from exc
    except (OSError, ValueError, KeyError) as exc:
        raise click.ClickException(f"{type(exc).__name__}: {exc}") from exc
