"""The web page's routes: public, static, and a form built from ProcessOptions."""

from __future__ import annotations

import re

from api.page import FIELDS, form_fields
from shared.options import ProcessOptions
from tests.api.conftest import Api


def test_page_and_its_files_need_no_key(api: Api) -> None:
    api.app.extensions["cutout"].settings.auth = "required"
    page = api.client.get("/")
    assert page.status_code == 200 and b'src="/static/app.js"' in page.data
    for name, kind in (("app.js", "javascript"), ("app.css", "css"), ("favicon.svg", "svg")):
        response = api.client.get(f"/static/{name}")
        assert response.status_code == 200 and kind in response.content_type, name
    assert api.client.get("/page/config.json").json["auth"] == "required"
    assert api.client.get("/v1/jobs/x").status_code == 401  # the API itself stays closed


def test_the_page_has_no_inline_code(api: Api) -> None:
    # So that `Content-Security-Policy: default-src 'self'` leaves the page working.
    html = api.client.get("/").get_data(as_text=True)
    assert "<style" not in html and " style=" not in html
    assert not re.search(r"\son[a-z]+=", html), "inline event handler"
    assert all("src=" in line for line in html.splitlines() if "<script" in line)


def test_fields_follow_the_options_model() -> None:
    fields = {field["name"]: field for field in form_fields()}
    known = ProcessOptions.model_fields
    assert set(fields) == {f.name for f in FIELDS if f.name in known}
    assert fields["mode"]["widget"] == "select" and "color" in fields["mode"]["choices"]
    assert fields["mode"]["optional"] is False and fields["format"]["optional"] is True
    assert fields["crop"]["widget"] == "checkbox"
    assert fields["crop_margin"]["widget"] == "number" and fields["crop_margin"]["max"] == 1
    assert fields["bg_color"]["show_when"] == {"mode": ["color"]}


def test_unknown_static_file_is_404(api: Api) -> None:
    assert api.client.get("/static/nothing.js").status_code == 404
    assert api.client.get("/static/../app.py").status_code == 404
