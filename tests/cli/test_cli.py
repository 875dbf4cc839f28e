"""The `cutout` command through click's runner, with the tiny ONNX model as the default model."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from PIL import Image

from cutout.cli.main import cli
from tests.conftest import encoded, subject_photo

pytestmark = pytest.mark.usefixtures("tiny_default_model")


def _invoke(*args: str):
    return CliRunner().invoke(cli, [str(a) for a in args])


def test_remove_writes_a_cutout(photo: Path, tmp_path: Path) -> None:
    result = _invoke("remove", photo, "-o", tmp_path / "out.png")
    assert result.exit_code == 0, result.output
    assert Image.open(tmp_path / "out.png").mode == "RGBA"
    assert "out.png: 240x180 png, tiny" in result.output


def test_output_suffix_sets_the_format(photo: Path, tmp_path: Path) -> None:
    result = _invoke(
        "remove", photo, "-o", tmp_path / "o.jpg", "--mode", "color", "--bg-color", "#336699"
    )
    assert result.exit_code == 0, result.output
    assert Image.open(tmp_path / "o.jpg").format == "JPEG"


def test_json_reports_metrics_and_timings(photo: Path, tmp_path: Path) -> None:
    result = _invoke("remove", photo, "-o", tmp_path / "m.png", "--mode", "mask", "--json")
    report = json.loads(result.output)
    assert report["method"] == "tiny" and "inference" in report["timings_ms"]
    assert report["engine"] == "onnxruntime"  # a model bench/engines.py did not measure
    assert report["input"]["format"] == "JPEG" and "foreground_fraction" in report["metrics"]


def test_bad_file_is_one_clear_line_and_nonzero(tmp_path: Path) -> None:
    bad = tmp_path / "notes.jpg"
    bad.write_text("not an image")
    result = _invoke("remove", bad, "-o", tmp_path / "x.png")
    assert result.exit_code == 1
    assert "unsupported_media_type" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "x.png").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--mode", "color"], "needs bg_color"),
        (["--format", "jpeg"], "no transparency"),
        (["--mode", "image"], "needs --bg-image"),
        (["--bg-color", "nope", "--mode", "color"], "unknown colour"),
    ],
)
def test_bad_arguments_are_usage_errors(
    photo: Path, tmp_path: Path, args: list[str], message: str
) -> None:
    result = _invoke("remove", photo, "-o", tmp_path / "x.png", *args)
    assert result.exit_code == 2 and message in result.output


def test_background_image(photo: Path, tmp_path: Path) -> None:
    background = tmp_path / "bg.png"
    Image.new("RGB", (50, 50), (0, 0, 255)).save(background)
    result = _invoke(
        "remove", photo, "-o", tmp_path / "b.jpg", "--mode", "image", "--bg-image", background
    )
    assert result.exit_code == 0, result.output


def _folder(tmp_path: Path) -> Path:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a.jpg").write_bytes(encoded(subject_photo()))
    (folder / "b.png").write_bytes(encoded(subject_photo(120, 90), "PNG"))
    (folder / "a.png").write_bytes(encoded(subject_photo(60, 40), "PNG"))
    (folder / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 truncated")
    (folder / "readme.txt").write_text("ignored: not an image suffix")
    return folder


def test_batch_goes_past_a_bad_file_and_reports(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = _invoke("batch", _folder(tmp_path), out, "--mode", "mask")
    assert result.exit_code == 1
    assert sorted(p.name for p in out.glob("*.png")) == ["a-png.png", "a.png", "b.png"]
    rows = {Path(row["input"]).name: row for row in csv.DictReader((out / "report.csv").open())}
    assert set(rows) == {"a.jpg", "a.png", "b.png", "broken.jpg"}
    assert rows["broken.jpg"]["status"] == "failed" and rows["broken.jpg"]["error_code"]
    assert rows["b.png"]["status"] == "succeeded" and rows["b.png"]["method"] == "tiny"
    assert float(rows["b.png"]["total_ms"]) > 0 and rows["b.png"]["needs_review"] in (
        "True",
        "False",
    )
    assert "3 done, 1 failed, 0 skipped" in result.output


def test_batch_skip_existing_and_workers(tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    (folder / "broken.jpg").unlink()
    out = tmp_path / "out"
    out.mkdir()
    (out / "b.png").write_bytes(b"keep me")
    result = _invoke("batch", folder, out, "--skip-existing", "--workers", "2")
    assert result.exit_code == 0, result.output
    assert (out / "b.png").read_bytes() == b"keep me"
    assert Image.open(out / "a.png").mode == "RGBA"
    assert "2 done, 0 failed, 1 skipped" in result.output


def test_eval_scores_a_benchmark_folder(tmp_path: Path) -> None:
    bench = tmp_path / "Toy"
    (bench / "images").mkdir(parents=True)
    (bench / "masks").mkdir()
    photo = subject_photo()
    (bench / "images" / "one.jpg").write_bytes(encoded(photo))
    truth = Image.eval(photo.convert("L"), lambda v: 255 if v > 120 else 0)
    truth.save(bench / "masks" / "one.png")
    result = _invoke("eval", tmp_path, "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)["benchmarks"]["Toy"]
    assert report["count"] == 1 and 0 <= report["mae"] <= 1 and report["methods"] == {"tiny": 1}


def test_eval_of_an_empty_folder_is_a_usage_error(tmp_path: Path) -> None:
    result = _invoke("eval", tmp_path)
    assert result.exit_code == 2 and "no images/ + masks/ pairs" in result.output


@pytest.mark.parametrize(
    ("flags", "refined"),
    [
        ([], False),
        (["--preset", "fast"], False),
        (["--preset", "best"], True),
        (["--preset", "best", "--no-refine-edges"], False),
        (["--preset", "balanced", "--refine-edges"], True),
    ],
)
def test_preset_and_refine_flags_decide_the_refine_stage(
    tmp_path: Path, flags: list[str], refined: bool
) -> None:
    photo = tmp_path / "large.jpg"  # refinement only runs once the mask is really upscaled
    photo.write_bytes(encoded(subject_photo(800, 600)))
    result = _invoke("remove", photo, "-o", tmp_path / "out.png", "--json", *flags)
    assert result.exit_code == 0, result.output
    assert ("refine" in json.loads(result.output)["timings_ms"]) is refined


def test_framing_options_give_the_canvas_asked_for(photo: Path, tmp_path: Path) -> None:
    out = tmp_path / "framed.jpg"
    result = _invoke(
        "remove", photo, "-o", out, "--canvas", "400x400", "--padding", "10%",
        "--vertical-alignment", "bottom", "--shadow", "contact",
        "--mode", "color", "--bg-color", "white", "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    box = report["output"]["foreground"]
    assert Image.open(out).size == (400, 400) and box["top"] + box["height"] == 360


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--canvas", "30x"], "canvas: '30x' is not a size"),
        (["--shadow-opacity", "0.5"], "need shadow=drop or shadow=contact"),
        (["--crop", "--canvas", "100x100"], "use one or the other"),
    ],
)
def test_bad_framing_options_are_one_line(
    photo: Path, tmp_path: Path, args: list[str], message: str
) -> None:
    result = _invoke("remove", photo, "-o", tmp_path / "x.png", *args)
    assert result.exit_code == 2 and "Traceback" not in result.output
    (line,) = result.output.strip().splitlines()
    assert line.startswith("Error: invalid_option: ") and message in line
    assert not (tmp_path / "x.png").exists()
