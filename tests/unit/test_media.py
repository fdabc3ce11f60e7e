from __future__ import annotations

import pytest

from kycvault.domain.media import MARKUP, ODF, OLE2, OOXML, decide_media_type
from kycvault.errors import UnprocessableContent, UnsupportedMediaType


@pytest.mark.parametrize(
    ("detected", "extension", "expected"),
    [
        ("application/pdf", "pdf", "application/pdf"),
        ("application/pdf", None, "application/pdf"),
        ("image/jpeg", "jpeg", "image/jpeg"),
        ("image/jpeg", "jpg", "image/jpeg"),
        ("text/plain", "csv", "text/csv"),
        ("text/plain", "txt", "text/plain"),
        (OLE2, "xls", "application/vnd.ms-excel"),
        (OLE2, "doc", "application/msword"),
        (OLE2, None, "application/msword"),
        (OLE2, "ppt", "application/vnd.ms-powerpoint"),
        (
            OOXML,
            "pptx",
            "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        ),
        (OOXML, "xlsm", "application/vnd.ms-excel.sheet.macroEnabled.12"),
        (ODF, "odp", "application/vnd.oasis.opendocument.presentation"),
        ("image/heic", "heif", "image/heif"),
    ],
)
def test_accepted(detected: str, extension: str | None, expected: str) -> None:
    assert decide_media_type(detected, extension) == expected


@pytest.mark.parametrize(
    ("detected", "extension", "code"),
    [
        ("application/pdf", "exe", "extension_not_allowed"),
        ("application/pdf", "html", "extension_not_allowed"),
        ("image/png", "svg", "extension_not_allowed"),
        ("application/x-msdownload", None, "unsupported_media_type"),
        (None, None, "unsupported_media_type"),
        (MARKUP, "txt", "markup_not_allowed"),
    ],
)
def test_unsupported(detected: str | None, extension: str | None, code: str) -> None:
    with pytest.raises(UnsupportedMediaType) as caught:
        decide_media_type(detected, extension)
    assert caught.value.code == code


@pytest.mark.parametrize(
    ("detected", "extension"),
    [("image/png", "pdf"), ("application/x-msdownload", "jpg"), (None, "pdf"), (OLE2, "docx")],
)
def test_content_must_match_the_extension(detected: str | None, extension: str) -> None:
    with pytest.raises(UnprocessableContent) as caught:
        decide_media_type(detected, extension)
    assert caught.value.code == "content_mismatch"
