"""`cutout batch`'s CSV report: merged with the one a previous run left, written whole.

A second run (say with --skip-existing) keeps every earlier row it has nothing new to say
about: an input it skipped keeps the row that describes its existing output, and an input
that failed this time keeps an earlier success row while that output is still there (a
later failure never replaces an earlier result). Inputs not seen this time keep their rows.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cutout.files import atomic_output
from shared.errors import InvalidOption
from shared.metrics.report_columns import PROXY_COLUMNS

REPORT_FIELDS = [
    "input",
    "status",
    "output",
    "error_code",
    "error",
    "method",
    "width",
    "height",
    "megapixels",
    "quality_score",
    *PROXY_COLUMNS,
    "decode_ms",
    "inference_ms",
    "total_ms",
]


def read_report(path: Path) -> dict[str, dict[str, Any]]:
    """The rows of an earlier report by input (none if there is no report)."""
    if not path.exists():
        return {}
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise InvalidOption(
            f"cannot read the earlier report {path} ({exc}); move it away or pass --report"
        ) from exc
    return {row["input"]: row for row in rows if row.get("input")}


def _keeps_earlier(new: dict[str, Any], earlier: dict[str, Any] | None) -> bool:
    if earlier is None or earlier.get("status") != "succeeded":
        return False
    output_exists = bool(earlier.get("output")) and Path(earlier["output"]).exists()
    return new["status"] in ("skipped", "failed") and output_exists


def report_order(row: Mapping[str, Any]) -> tuple[int, float, str]:
    """Failures first, then results by review score (most likely to need a look first),
    then skipped files; by input within each."""
    rank = {"failed": 0, "succeeded": 1}.get(row["status"], 2)
    score = row.get("quality_score")
    return rank, -(float(score) if score not in (None, "") else 0.0), row["input"]


def merge_rows(earlier: dict[str, dict[str, Any]], rows: list[dict[str, Any]]) -> list[dict]:
    """Earlier rows updated with this run's, in report order."""
    merged = dict(earlier)
    for row in rows:
        if not _keeps_earlier(row, earlier.get(row["input"])):
            merged[row["input"]] = row
    return sorted(merged.values(), key=report_order)


def write_report(path: Path, rows: list[dict[str, Any]]) -> None:
    """Write the report whole (a crash mid-write leaves the earlier one as it was)."""
    text = io.StringIO()
    writer = csv.DictWriter(text, REPORT_FIELDS, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    with atomic_output(path) as handle:
        handle.write(text.getvalue().encode("utf-8"))
