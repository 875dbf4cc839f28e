"""The command line and the library as a new user meets them: every mistake is one clear
line (or one CutoutError) with a non-zero exit, and nothing written earlier is lost."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from cutout import cut_out, remove_background
from cutout.cli.main import cli
from shared.errors import CutoutError, InputNotFound, InvalidOption, OutputNotWritable
from shared.settings import get_settings
from tests.conftest import encoded, subject_photo

pytestmark = pytest.mark.usefixtures("tiny_default_model")


def _invoke(*args: object):
    return CliRunner().invoke(cli, [str(a) for a in args])


def _one_line_error(result, code: int) -> str:  # noqa: ANN001 - click's Result
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    errors = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, result.output
    return errors[0]


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("missing/x.png", "does not exist"),
        ("photo.jpg/x.png", "is a file, not a folder"),
    ],
)
def test_an_output_folder_that_cannot_hold_the_file_is_one_line(
    photo: Path, target: str, message: str
) -> None:
    result = _invoke("remove", photo, "-o", photo.parent / target)
    assert message in _one_line_error(result, 2)


def test_an_output_suffix_we_do_not_write_is_refused_not_renamed(
    photo: Path, tmp_path: Path
) -> None:
    result = _invoke("remove", photo, "-o", tmp_path / "x.gif")
    assert "'.gif' is not an output type" in _one_line_error(result, 2)
    assert not (tmp_path / "x.gif").exists()


def test_a_format_that_contradicts_the_suffix_is_refused(photo: Path, tmp_path: Path) -> None:
    result = _invoke("remove", photo, "-o", tmp_path / "x.jpg", "--format", "png")
    assert "does not match the format png" in _one_line_error(result, 2)


def test_a_mistyped_model_is_a_usage_error_not_a_grabcut_success(
    photo: Path, tmp_path: Path
) -> None:
    result = _invoke("remove", photo, "-o", tmp_path / "x.png", "--model", "u2netpp")
    line = _one_line_error(result, 2)
    assert "unknown model 'u2netpp'" in line and "u2netp-int8" in line
    assert not (tmp_path / "x.png").exists()


@pytest.fixture
def empty_model_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("CUTOUT_MODEL_DIR", str(tmp_path / "no-models"))
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.mark.usefixtures("empty_model_dir")
def test_a_named_model_that_cannot_load_fails_instead_of_falling_back(
    photo: Path, tmp_path: Path
) -> None:
    result = _invoke("remove", photo, "-o", tmp_path / "x.png", "--model", "u2netp")
    assert "model_unavailable" in _one_line_error(result, 1)
    assert not (tmp_path / "x.png").exists()


def _inputs(tmp_path: Path) -> Path:
    folder = tmp_path / "in"
    folder.mkdir()
    for name in ("a.jpg", "b.jpg"):
        (folder / name).write_bytes(encoded(subject_photo(60, 40)))
    return folder


def _report(out: Path) -> dict[str, dict[str, str]]:
    with (out / "report.csv").open(newline="") as handle:
        return {Path(row["input"]).name: row for row in csv.DictReader(handle)}


def test_batch_skip_existing_keeps_the_earlier_reports_rows(tmp_path: Path) -> None:
    folder, out = _inputs(tmp_path), tmp_path / "out"
    assert _invoke("batch", folder, out).exit_code == 0
    first = _report(out)
    (folder / "c.jpg").write_bytes(encoded(subject_photo(60, 40)))
    result = _invoke("batch", folder, out, "--skip-existing")
    assert result.exit_code == 0 and "1 done, 0 failed, 2 skipped" in result.output
    rows = _report(out)
    assert set(rows) == {"a.jpg", "b.jpg", "c.jpg"}
    assert rows["a.jpg"] == first["a.jpg"] and rows["a.jpg"]["method"] == "tiny"
    assert rows["c.jpg"]["status"] == "succeeded"


def test_a_later_failure_keeps_the_earlier_result_and_its_row(tmp_path: Path) -> None:
    folder, out = _inputs(tmp_path), tmp_path / "out"
    assert _invoke("batch", folder, out).exit_code == 0
    before = (out / "a.png").read_bytes()
    (folder / "a.jpg").write_bytes(b"\xff\xd8\xff\xe0 now broken")
    result = _invoke("batch", folder, out)
    assert result.exit_code == 1 and "1 done, 1 failed" in result.output
    assert (out / "a.png").read_bytes() == before
    assert _report(out)["a.jpg"]["status"] == "succeeded"


def test_an_unreadable_earlier_report_stops_the_batch_before_any_work(tmp_path: Path) -> None:
    folder, out = _inputs(tmp_path), tmp_path / "out"
    out.mkdir()
    (out / "report.csv").write_bytes(b"\xff\xfe not utf-8 \x00")
    result = _invoke("batch", folder, out)
    assert "cannot read the earlier report" in _one_line_error(result, 2)
    assert (out / "report.csv").read_bytes() == b"\xff\xfe not utf-8 \x00"
    assert not list(out.glob("*.png"))


def test_the_library_raises_cutout_errors(photo: Path, tmp_path: Path) -> None:
    cases = [
        (InputNotFound, lambda: remove_background(tmp_path / "nope.jpg", tmp_path / "o.png")),
        (InputNotFound, lambda: cut_out(str(tmp_path / "nope.jpg"))),
        (OutputNotWritable, lambda: remove_background(photo, tmp_path / "missing" / "o.png")),
        (InvalidOption, lambda: remove_background(photo, tmp_path / "o.gif")),
        (InvalidOption, lambda: cut_out(photo, model="u2netpp")),
    ]
    for error, call in cases:
        with pytest.raises(error) as caught:
            call()
        assert isinstance(caught.value, CutoutError) and caught.value.code
    assert sorted(p.name for p in tmp_path.iterdir()) == ["photo.jpg"]
