"""The web page end to end in headless Chromium against the real stack (redis, worker, API).

Debian's `chromium` (installed by `make test`) is driven by Playwright; the test skips only
where no Chromium executable exists.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from scripts.browser import chromium, find_chromium
from tests.conftest import REAL_MODEL, encoded, subject_photo
from tests.integration.stack import Stack, start_stack

pytestmark = pytest.mark.integration
WAIT_MS = 120_000

# Every status a job card shows, in order, recorded by the page's own DOM changes.
RECORD_STATUSES = """() => {
  window.seenStatuses = [];
  new MutationObserver((changes) => {
    for (const change of changes) {
      if (change.attributeName === "data-status") {
        window.seenStatuses.push(change.target.dataset.status);
      }
    }
  }).observe(document.getElementById("jobs"), { attributes: true, subtree: true });
}"""

# Alpha at the centre and in a corner of the drawn result (the subject is a centred disc).
RESULT_ALPHA = """(canvas) => {
  const context = canvas.getContext("2d");
  const at = (x, y) => context.getImageData(x, y, 1, 1).data[3];
  return { centre: at(canvas.width / 2, canvas.height / 2), corner: at(2, 2),
           width: canvas.width, height: canvas.height };
}"""


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    executable = find_chromium()
    if executable is None:
        pytest.skip("no Chromium executable (make test installs Debian's chromium with apt)")
    with chromium(executable) as running:
        yield running


@pytest.fixture(scope="module")
def stack(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[Stack]:
    folder = tmp_path_factory.mktemp("page-stack")
    if REAL_MODEL.is_file():
        running = start_stack(folder, REAL_MODEL.parent)
    else:  # the tiny model cuts out the same disc, so the page's checks hold
        tiny = request.getfixturevalue("tiny_model")
        running = start_stack(folder, tiny.parent, CUTOUT_MODEL=str(tiny))
    yield running
    running.stop()


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    photo = tmp_path / "disc.jpg"
    photo.write_bytes(encoded(subject_photo(320, 240)))
    notes = tmp_path / "notes.txt"
    notes.write_text("a shopping list, not a picture\n")
    return {"photo": photo, "notes": notes}


def test_upload_progress_compare_download_and_an_error(
    browser: Any, stack: Stack, files: dict[str, Path]
) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    page.goto(stack.url("/"))
    page.wait_for_selector("body[data-ready='true']")
    assert page.locator("#opt-mode").count() == 1, "the form was not built from the config"
    page.evaluate(RECORD_STATUSES)
    page.set_input_files("#drop-input", [str(files["photo"]), str(files["notes"])])

    done = page.locator(".job", has_text="disc.jpg")
    failed = page.locator(".job", has_text="notes.txt")
    done.and_(page.locator("[data-status='done']")).wait_for(timeout=WAIT_MS)
    failed.and_(page.locator("[data-status='failed']")).wait_for(timeout=WAIT_MS)

    seen = page.evaluate("window.seenStatuses")
    assert "uploading" in seen and ({"queued", "processing"} & set(seen)), seen
    assert "not an image" in failed.locator(".message").inner_text(), stack.logs()

    alpha = done.locator("canvas.after").evaluate(RESULT_ALPHA)
    assert (alpha["width"], alpha["height"]) == (320, 240)
    assert alpha["centre"] > 200 and alpha["corner"] < 30, alpha

    slider = done.locator(".slider")
    assert "disc.jpg" in (slider.get_attribute("aria-label") or "")
    slider.focus()
    for _ in range(10):
        page.keyboard.press("ArrowLeft")
    assert slider.input_value() == "40"
    split = done.evaluate("(node) => node.style.getPropertyValue('--split')")
    assert split == "40%"

    with page.expect_download() as info:
        done.locator(".download").click()
    download = info.value
    assert download.suggested_filename == "disc-cutout.png"
    result = Image.open(io.BytesIO(Path(download.path()).read_bytes()))
    assert (result.format, result.mode, result.size) == ("PNG", "RGBA", (320, 240))
    assert page.locator("#summary").inner_text().startswith("1 of 2 done, 1 failed")
    page.close()


def test_options_change_the_job(browser: Any, stack: Stack, files: dict[str, Path]) -> None:
    page = browser.new_page(viewport={"width": 390, "height": 844})
    page.goto(stack.url("/"))
    page.wait_for_selector("body[data-ready='true']")
    assert page.locator("#opt-bg_color").is_hidden()
    page.select_option("#opt-mode", "color")
    assert page.locator("#opt-bg_color").is_visible()
    page.fill("#opt-bg_color", "#ff0000")
    page.select_option("#opt-format", "png")
    page.set_input_files("#drop-input", str(files["photo"]))
    job = page.locator(".job[data-status='done']")
    job.wait_for(timeout=WAIT_MS)
    corner = job.locator("canvas.after").evaluate(
        "(c) => Array.from(c.getContext('2d').getImageData(1, 1, 1, 1).data)"
    )
    assert corner[0] > 200 and corner[1] < 50 and corner[3] == 255, corner
    page.close()
