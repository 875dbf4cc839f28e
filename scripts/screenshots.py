"""Screenshots of the web page at desktop and phone widths, for the README and docs.

Starts the real stack (redis, one worker, the API) in a temporary folder, drops scikit-image's
bundled photos on the page, waits for the results and saves docs/images/page-desktop.png and
docs/images/page-phone.png. Run: `.venv/bin/python -m scripts.screenshots`.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from PIL import Image

from scripts.browser import chromium, find_chromium
from shared.settings import REPO_ROOT, get_settings
from tests.integration.stack import start_stack

VIEWPORTS = {"desktop": (1280, 860), "phone": (390, 844)}
PHOTOS = ("astronaut", "chelsea", "coffee")
WAIT_MS = 180_000


def _photos(folder: Path) -> list[Path]:
    from skimage import data  # bundled with scikit-image: no download, no eval data

    paths = []
    for name in PHOTOS:
        path = folder / f"{name}.jpg"
        Image.fromarray(getattr(data, name)()).save(path, quality=90)
        paths.append(path)
    return paths


def _shoot(browser: object, url: str, photos: list[Path], out: Path, size: tuple[int, int]) -> None:
    page = browser.new_page(viewport={"width": size[0], "height": size[1]})  # type: ignore[attr-defined]
    page.goto(url)
    page.wait_for_selector("body[data-ready='true']")
    page.set_input_files("#drop-input", [str(path) for path in photos])
    page.locator(".job[data-status='done']").nth(len(photos) - 1).wait_for(timeout=WAIT_MS)
    page.locator(".slider").first.fill("35")
    page.locator(".slider").first.blur()
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(out), full_page=size[0] < 600)
    page.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "docs" / "images")
    args = parser.parse_args()
    executable = find_chromium()
    if executable is None:
        raise SystemExit("no Chromium found: apt-get install chromium")
    with tempfile.TemporaryDirectory(prefix="cutout-shots-") as temp:
        folder = Path(temp)
        photos = _photos(folder)
        stack = start_stack(folder / "stack", get_settings().model_dir)
        try:
            with chromium(executable) as browser:
                for name, size in VIEWPORTS.items():
                    out = args.out / f"page-{name}.png"
                    _shoot(browser, stack.url("/"), photos, out, size)
                    print(out)
        finally:
            stack.stop()


if __name__ == "__main__":
    main()
