"""Reading and checking uploaded files, without decoding their pixels."""

from __future__ import annotations

from dataclasses import dataclass

from werkzeug.datastructures import FileStorage, MultiDict

from shared.errors import FileTooLarge, InvalidOption
from shared.imageinfo import ImageInfo, probe

FILE_FIELDS = ("image", "background", "mask")
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
    return Upload(data, probe(data, max_megapixels=max_megapixels), storage.filename or "")


def option_fields(form: MultiDict[str, str]) -> dict[str, str]:
    """The form's non-file fields, as options (empty values mean 'default')."""
    skip = (*FILE_FIELDS, *JOB_FIELDS)
    return {key: value for key, value in form.items() if key not in skip and value != ""}
