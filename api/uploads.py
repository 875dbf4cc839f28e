"""Reading and checking uploaded files, without decoding their pixels.

What a client sends is held to a few plain rules before any image library sees it: the form
must parse (a broken multipart body or non-UTF-8 part headers are a 400, not a silently empty
form), field names and values are short, file names are kept only as a short printable name
(never a path), and each file is judged by its content, field by field.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from flask import Request
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.formparser import FormDataParser

from shared.errors import CutoutError, FileTooLarge, InvalidOption, MalformedRequest
from shared.imageinfo import ImageInfo, probe

FILE_FIELDS = ("image", "background", "mask")
# Werkzeug's limits for the form: parts in all, and bytes in one text field. The API's form
# has a dozen short options; anything near these limits is not a real client. Werkzeug also
# holds its parser's buffer (file data included, read 64 KB at a time) to the field limit,
# so that limit stays well above one read.
MAX_FORM_PARTS = 64
MAX_FORM_MEMORY_SIZE = 256 * 1024
MAX_FIELD_NAME = 64
MAX_FIELD_VALUE = 256
MAX_FILENAME = 255
_SEPARATORS = re.compile(r"[/\\]")


class UploadRequest(Request):
    """Flask's request, except that a form that cannot be parsed is an error, not empty."""

    def make_form_data_parser(self) -> FormDataParser:
        parser = super().make_form_data_parser()
        parser.silent = False
        return parser

    def _load_form_data(self) -> None:
        try:
            super()._load_form_data()
        except ValueError as exc:  # werkzeug's parser: bad framing or undecodable headers
            raise MalformedRequest(
                "the multipart form could not be read: it is malformed, or a part header "
                "(such as a file name) is not UTF-8"
            ) from exc


# Form fields that are about the job, not options for the image.
JOB_FIELDS = ("webhook_url",)


@dataclass
class Upload:
    """An uploaded image: its bytes and what its header says."""

    data: bytes
    info: ImageInfo
    filename: str

    def facts(self) -> dict:
        return {**self.info.to_dict(), "bytes": len(self.data), "filename": self.filename}


def clean_filename(name: str | None) -> str:
    """The client's file name as a short printable name: last path part, no control chars."""
    base = _SEPARATORS.split(name or "")[-1]
    printable = "".join(c for c in base if unicodedata.category(c)[0] != "C")
    return printable.strip()[:MAX_FILENAME]


def read_image(
    files: MultiDict[str, FileStorage],
    field: str,
    *,
    max_megapixels: float,
    max_bytes: int,
    required: bool = True,
) -> Upload | None:
    """The image in form field `field`, checked by content (type, megapixels) from its header."""
    storage = files.get(field)
    if storage is None or not storage.filename and not storage.content_length:
        if required:
            raise InvalidOption(f"{field}: a file is required (multipart form field '{field}')")
        return None
    data = storage.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise FileTooLarge(f"{field}: files are limited to {max_bytes} bytes")
    try:
        info = probe(data, max_megapixels=max_megapixels)
    except CutoutError as exc:
        raise type(exc)(f"{field}: {exc.message}") from exc
    return Upload(data, info, clean_filename(storage.filename))


def option_fields(form: MultiDict[str, str]) -> dict[str, str]:
    """The form's non-file fields, as options (empty values mean 'default')."""
    # Error messages quote names and values: keep what they can echo short.
    for key, value in form.items(multi=True):
        if key is None:  # Werkzeug's parser could not read the part's name (a bad quote)
            raise MalformedRequest("a form field has no readable name")
        if len(key) > MAX_FIELD_NAME:
            raise InvalidOption(f"unknown field {key[:MAX_FIELD_NAME]!r}... (names are short)")
        # A webhook URL may be longer; the address guard bounds it (2048 characters).
        if len(value) > MAX_FIELD_VALUE and key not in JOB_FIELDS:
            raise InvalidOption(f"{key}: the value is over {MAX_FIELD_VALUE} characters")
    skip = (*FILE_FIELDS, *JOB_FIELDS)
    return {key: value for key, value in form.items() if key not in skip and value != ""}
