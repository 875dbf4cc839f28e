"""Processing options: parsing, defaults and every rejection as an InvalidOption."""

from __future__ import annotations

import pytest

from shared.errors import InvalidOption
from shared.options import ProcessOptions, parse_color


@pytest.mark.parametrize(
    ("text", "rgba"),
    [
        ("#fff", (255, 255, 255, 255)),
        ("#00ff0080", (0, 255, 0, 128)),
        ("red", (255, 0, 0, 255)),
        ("10,20,30", (10, 20, 30, 255)),
        ("10, 20, 30, 40", (10, 20, 30, 40)),
        ("rgb(1,2,3)", (1, 2, 3, 255)),
        ((4, 5, 6), (4, 5, 6, 255)),
    ],
)
def test_colours(text: str, rgba: tuple[int, int, int, int]) -> None:
    assert parse_color(text) == rgba


@pytest.mark.parametrize("text", ["nope", "1,2", "300,0,0", "#12345"])
def test_bad_colours(text: str) -> None:
    with pytest.raises(ValueError, match="colour"):
        parse_color(text)


def test_default_formats_follow_the_mode() -> None:
    assert ProcessOptions().output_format == "png"
    assert ProcessOptions(mode="mask").output_format == "png"
    assert ProcessOptions.parse({"mode": "color", "bg_color": "white"}).output_format == "jpeg"
    assert ProcessOptions.parse({"mode": "color", "bg_color": "#ffffff80"}).output_format == "png"
    assert ProcessOptions(mode="image").output_format == "jpeg"
    assert ProcessOptions.parse({"format": "JPG", "mode": "mask"}).output_format == "jpeg"


def test_none_values_mean_defaults() -> None:
    assert ProcessOptions.parse({"mode": None, "quality": None}) == ProcessOptions()


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"mode": "color"}, "needs bg_color"),
        ({"mode": "sketch"}, "mode"),
        ({"format": "jpeg"}, "no transparency"),
        ({"quality": 0}, "quality"),
        ({"mode": "color", "bg_color": "1,2,3,4", "format": "jpeg"}, "translucent"),
        ({"max_size": 3}, "max_size"),
        ({"shadow": True}, "shadow"),
        ({"mode": "color", "bg_color": "nope"}, "unknown colour"),
        ({"format": "gif"}, "format"),
    ],
)
def test_rejections_name_the_problem(values: dict, message: str) -> None:
    with pytest.raises(InvalidOption, match=message) as caught:
        ProcessOptions.parse(values)
    assert caught.value.code == "invalid_option" and caught.value.http_status == 400


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"canvas": "2000x"}, "canvas: '2000x' is not a size"),
        ({"canvas": "0x10"}, "each side between 1 and"),
        ({"canvas": "9000x9000"}, "megapixels"),
        ({"padding": "50%"}, "padding"),
        ({"padding": "lots"}, "not a fraction"),
        ({"scale": 0}, "scale"),
        ({"padding": 0.1, "scale": 0.8}, "give one of them"),
        ({"crop": True, "canvas": "100x100"}, "use one or the other"),
        ({"vertical_alignment": "left"}, "vertical_alignment"),
        ({"shadow_blur": 3}, "need shadow=drop or shadow=contact"),
        ({"shadow": "drop", "shadow_offset": "up"}, "not an offset"),
        ({"shadow": "drop", "shadow_opacity": 2}, "shadow_opacity"),
        ({"mode": "mask", "shadow": "contact"}, "a mask has no shadow"),
        ({"add_shadow": "maybe"}, "add_shadow"),
    ],
)
def test_framing_and_shadow_rejections(values: dict, message: str) -> None:
    with pytest.raises(InvalidOption, match=message) as caught:
        ProcessOptions.parse(values)
    assert caught.value.code == "invalid_option"


def test_framing_values_in_the_services_spellings() -> None:
    options = ProcessOptions.parse(
        {
            "canvas": "2000x1500",
            "padding": "10%",
            "horizontal_alignment": "Centre",
            "vertical_alignment": "bottom",
            "shadow": "drop",
            "shadow_offset": "12px, -4px",
        }
    )
    assert options.canvas == (2000, 1500) and options.padding == pytest.approx(0.1)
    assert options.horizontal_alignment == "center" and options.shadow_offset == (12, -4)
    assert options.framed and not ProcessOptions().framed
    assert ProcessOptions.parse({"canvas": "800"}).canvas == (800, 800)
    assert ProcessOptions.parse({"scale": "original"}).scale is None
    # What the job record stores parses back to the same options (the worker reads it).
    assert ProcessOptions.parse(options.model_dump(mode="json")) == options
