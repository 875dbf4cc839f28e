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
import redis
from PIL import Image

from scripts.browser import chromium, find_chromium
from shared.jobs import JobStore
from shared.keys import KeyStore
from tests.conftest import REAL_MODEL, encoded, subject_photo
from tests.integration.stack import Stack, start_stack

pytestmark = pytest.mark.integration
WAIT_MS = 120_000
STRICT_CSP = "default-src 'self'"
# What the policy forbids: an inline script (the check that the policy is in force).
INLINE_SCRIPT = """() => {
  const script = document.createElement("script");
  script.textContent = "window.inlineRan = true";
  document.body.append(script);
}"""

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


def _strict_csp(page: Any, url: str) -> list[str]:
    """Serve the page with `Content-Security-Policy: default-src 'self'` and collect the
    browser's violation reports, so the test sees the page work under that policy. (Only the
    document is rewritten: its header is the page's policy, and uploads pass untouched.)"""

    def with_policy(route: Any) -> None:
        response = route.fetch()
        headers = {**response.headers, "content-security-policy": STRICT_CSP}
        route.fulfill(response=response, headers=headers)

    violations: list[str] = []
    page.route(url, with_policy)
    page.on("console", lambda m: violations.append(m.text) if "Content Security" in m.text else 0)
    return violations


def test_upload_progress_compare_download_and_an_error(
    browser: Any, stack: Stack, files: dict[str, Path]
) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    violations = _strict_csp(page, stack.url("/"))
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
    assert violations == []
    page.evaluate(INLINE_SCRIPT)
    assert page.evaluate("window.inlineRan") is None, "the policy was not in force"
    page.close()


def test_the_api_key_field(browser: Any, stack: Stack, files: dict[str, Path]) -> None:
    page = browser.new_page()
    page.goto(stack.url("/"))
    page.wait_for_selector("body[data-ready='true']")
    page.locator("#key-box summary").click()
    page.fill("#api-key", "ck_wrong_key")
    page.set_input_files("#drop-input", str(files["photo"]))
    refused = page.locator(".job[data-status='failed']")
    refused.wait_for(timeout=WAIT_MS)
    assert "API key was not accepted" in refused.locator(".message").inner_text()

    key, _ = KeyStore(redis.Redis.from_url(stack.redis.url)).create("page-user")
    page.fill("#api-key", key)
    page.reload()  # the key stays in this browser
    page.wait_for_selector("body[data-ready='true']")
    assert page.input_value("#api-key") == key
    page.set_input_files("#drop-input", str(files["photo"]))
    done = page.locator(".job[data-status='done']")
    done.wait_for(timeout=WAIT_MS)
    job_id = done.get_attribute("data-job-id")
    store = JobStore(redis.Redis.from_url(stack.redis.url), retention_seconds=60)
    job = store.get(str(job_id))
    assert job is not None and job.tenant == "page-user"
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
