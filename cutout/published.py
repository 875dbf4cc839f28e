"""Published u2netp scores from the eval data's REFERENCE_NUMBERS.md, to print beside ours.

The file is a hand-made markdown table (see ../shared/eval); we read the rows whose model
cell names u2netp and map its column names to our metric names.
"""

from __future__ import annotations

import re
from pathlib import Path

COLUMNS = {"maxFβ": "max_f", "MAE": "mae", "Fβw": "weighted_f", "Sm": "s_measure"}
FILE_NAME = "REFERENCE_NUMBERS.md"


def find_reference_file(*folders: Path) -> Path | None:
    """The first REFERENCE_NUMBERS.md in `folders` or their parents."""
    for folder in folders:
        for candidate in (folder, *folder.resolve().parents):
            if (candidate / FILE_NAME).is_file():
                return candidate / FILE_NAME
    return None


def _cells(line: str) -> list[str]:
    return [cell.strip().strip("*").strip() for cell in line.strip().strip("|").split("|")]


def published_u2netp(path: Path) -> dict[str, dict[str, float]]:
    """{benchmark: {metric: value}} for every u2netp row of the file's tables."""
    rows: dict[str, dict[str, float]] = {}
    header: list[str] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.startswith("|"):
            header = []
            continue
        cells = _cells(line)
        if not header:
            header = cells
        elif len(cells) == len(header) and "u2netp" in line:
            benchmark = re.sub(r"\s*\(.*", "", cells[0])
            rows[benchmark] = {
                COLUMNS[name]: float(value)
                for name, value in zip(header, cells, strict=True)
                if name in COLUMNS
            }
    return rows
