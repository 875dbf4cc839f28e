"""`cutout catalog` and `cutout submit` end to end against the real stack, with a resume."""

from __future__ import annotations

import csv
import json
import signal
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from shared.settings import REPO_ROOT
from tests.conftest import encoded, subject_photo
from tests.integration.stack import Stack, http, start_stack
from tests.processes import wait_until

pytestmark = pytest.mark.integration
CLI = [sys.executable, "-c", "from cutout.cli.main import cli; cli()"]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, tiny_model: Path) -> Iterator[Stack]:
    folder = tmp_path_factory.mktemp("client")
    running = start_stack(folder, tiny_model.parent, CUTOUT_MODEL=str(tiny_model))
    yield running
    running.stop()


def _cutout(*args: str, server: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*CLI, *args, "--server", server],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def _images(folder: Path, count: int, bad: int = 0) -> Path:
    folder.mkdir()
    for n in range(count):
        (folder / f"p{n:03d}.jpg").write_bytes(encoded(subject_photo(150 + n, 110)))
    for n in range(bad):
        (folder / f"bad{n}.jpg").write_bytes(b"not an image")
    return folder


def _report(out: Path) -> list[dict[str, str]]:
    with (out / "report.csv").open() as handle:
        return list(csv.DictReader(handle))


def test_catalog_of_a_folder_resumes_after_ctrl_c(stack: Stack, tmp_path: Path) -> None:
    source, out = _images(tmp_path / "in", 40, bad=2), tmp_path / "out"
    first = subprocess.Popen(
        [*CLI, "catalog", str(source), str(out), "--server", stack.base_url, "-o", "mode=mask"],
        cwd=REPO_ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    state = out / ".cutout-catalog.json"
    wait_until(lambda: state.exists() and '"rows": {"' in state.read_text(), 90, 0.05)
    first.send_signal(signal.SIGINT)
    first.wait(30)
    second = _cutout("catalog", str(source), str(out), "-o", "mode=mask", server=stack.base_url)
    assert second.returncode == 0, second.stderr + stack.logs()
    rows = _report(out)
    assert len(rows) == 42 and len({row["name"] for row in rows}) == 42
    failed = {row["name"]: row["error_code"] for row in rows if row["status"] == "failed"}
    assert failed == {"bad0.jpg": "unsupported_media_type", "bad1.jpg": "unsupported_media_type"}
    outputs = sorted(p.name for p in out.glob("*.png"))
    assert outputs == [f"p{n:03d}.png" for n in range(40)]
    batch_id = json.loads(state.read_text())["batch_id"]
    batch = http.request("GET", stack.url(f"/v1/batches/{batch_id}")).json()
    assert batch["items"] == 42, batch  # nothing was sent twice
    third = _cutout("catalog", str(source), str(out), server=stack.base_url)
    assert third.returncode == 0 and len(_report(out)) == 42


def test_catalog_of_a_zip(stack: Stack, tmp_path: Path) -> None:
    archive = tmp_path / "shoes.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("left/a.jpg", encoded(subject_photo(170, 120)))
        z.writestr("right/a.jpg", encoded(subject_photo(171, 120)))
    result = _cutout("catalog", str(archive), str(tmp_path / "out"), server=stack.base_url)
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in (tmp_path / "out").glob("*.png")) == ["a-2.png", "a.png"]


def test_submit_saves_results(stack: Stack, tmp_path: Path) -> None:
    images = _images(tmp_path / "in", 2)
    files = [str(p) for p in sorted(images.iterdir())]
    result = _cutout("submit", *files, "--out", str(tmp_path / "out"), server=stack.base_url)
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "p000.cutout.png",
        "p001.cutout.png",
    ]


def test_a_server_that_is_down_is_one_line(tmp_path: Path) -> None:
    images = _images(tmp_path / "in", 1)
    result = _cutout("catalog", str(images), str(tmp_path / "out"), server="http://127.0.0.1:9")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == [
        "Error: cannot reach http://127.0.0.1:9 (NewConnectionError)"
    ]


def test_catalog_resumes_after_a_server_restart(stack: Stack, tmp_path: Path) -> None:
    source, out = _images(tmp_path / "in", 30), tmp_path / "out"
    argv = [*CLI, "catalog", str(source), str(out), "--server", stack.base_url, "-o", "crop=true"]
    first = subprocess.Popen(argv, cwd=REPO_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    state = out / ".cutout-catalog.json"
    wait_until(lambda: state.exists() and '"rows": {"' in state.read_text(), 90, 0.05)
    stack.stop_services()
    try:
        # The client retries briefly, then stops with one line (or finishes if it was done).
        _, stderr = first.communicate(timeout=60)
        assert first.returncode == 0 or stderr.decode().startswith("Error: "), stderr
    finally:
        stack.start_services()
    second = _cutout("catalog", str(source), str(out), "-o", "crop=true", server=stack.base_url)
    assert second.returncode == 0, second.stderr + stack.logs()
    rows = _report(out)
    assert sorted(row["name"] for row in rows) == [f"p{n:03d}.jpg" for n in range(30)]
    assert all(row["status"] == "succeeded" for row in rows)
    batch_id = json.loads(state.read_text())["batch_id"]
    batch = http.request("GET", stack.url(f"/v1/batches/{batch_id}")).json()
    assert batch["items"] == 30, batch
