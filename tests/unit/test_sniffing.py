from __future__ import annotations

import io
import itertools
import zipfile

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kycvault.adapters.sniffing import FiletypeSniffer
from kycvault.domain.media import MARKUP, ODF, OLE2, OOXML
from tests.helpers import image_bytes

sniffer = FiletypeSniffer()


def _zip(entries: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in entries.items():
            archive.writestr(name, text)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("fmt", "expected"),
    [
        ("PNG", "image/png"),
        ("JPEG", "image/jpeg"),
        ("BMP", "image/bmp"),
        ("TIFF", "image/tiff"),
        ("WEBP", "image/webp"),
    ],
)
def test_images(fmt: str, expected: str) -> None:
    assert sniffer.sniff(image_bytes(fmt)[: sniffer.head_size]) == expected


def test_documents() -> None:
    assert sniffer.sniff(b"%PDF-1.7\n%\xe2\xe3") == "application/pdf"
    assert sniffer.sniff(b"{\\rtf1\\ansi x}") == "application/rtf"
    assert sniffer.sniff(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100) == OLE2
    docx = _zip({"[Content_Types].xml": "<x/>", "word/document.xml": "<x/>"})
    assert sniffer.sniff(docx).endswith("wordprocessingml.document")  # type: ignore[union-attr]
    assert sniffer.sniff(_zip({"[Content_Types].xml": "<x/>", "other.xml": "<x/>"})) == OOXML
    odt = _zip({"mimetype": "application/vnd.oasis.opendocument.text", "c.xml": "<x/>"})
    assert sniffer.sniff(odt) in {ODF, "application/vnd.oasis.opendocument.text"}
    assert sniffer.sniff(_zip({"a.txt": "x"})) == "application/zip"


def test_heif_brands() -> None:
    assert sniffer.sniff(b"\0\0\0\x18ftypheic\0\0\0\0mif1heic") == "image/heic"
    assert sniffer.sniff(b"\0\0\0\x18ftypmif1\0\0\0\0mif1heic") == "image/heif"


def test_text_and_markup() -> None:
    assert sniffer.sniff("name,amount\nÅsa,10\n".encode()) == "text/plain"
    # A multi-byte character cut at the end of the head is still text.
    assert sniffer.sniff(("é" * 5).encode()[:-1]) == "text/plain"
    assert sniffer.sniff(b"  <!DOCTYPE html><p>hi") == MARKUP
    assert sniffer.sniff(b'<?xml version="1.0"?><svg/>') == MARKUP
    assert sniffer.sniff(b"hello <script>alert(1)</script>") == MARKUP
    assert sniffer.sniff(b"a < b and c > d") == "text/plain"


def test_binary_junk_is_not_text() -> None:
    assert sniffer.sniff(b"MZ\x90\x00\x03\x00\x00\x00") == "application/x-msdownload"
    assert sniffer.sniff(bytes(range(256)) * 4) is None
    assert sniffer.sniff(b"") is None


# --------------------------------------------------------------------------- whole-stream scan

HIDDEN = [
    b"<script>",
    b"<!DOCTYPE html>",
    b'<?xml version="1.0"?>',
    b"<  SVG/>",
    b"<iframe src=x>",
    b"<Body\tonload=x>",
]


def _found(chunks: list[bytes]) -> bool:
    scan = sniffer.markup_scan()
    return any(scan.found_in(chunk) for chunk in chunks)


@given(
    markup=st.sampled_from(HIDDEN),
    before=st.integers(0, 3 * 65536),
    cuts=st.lists(st.integers(0, 3 * 65536 + 40), max_size=4),
)
@settings(max_examples=150, deadline=None)
def test_markup_is_found_wherever_the_stream_is_cut(
    markup: bytes, before: int, cuts: list[int]
) -> None:
    """Past the sniffing window, across slice and chunk boundaries, cut anywhere, even into
    one-byte chunks around the tag."""
    data = b"x" * before + markup + b" tail"
    points = sorted({0, len(data), *(c for c in cuts if c <= len(data))})
    chunks = [data[a:b] for a, b in itertools.pairwise(points)]
    assert _found(chunks)
    around = (
        [data[: before - 2], *(bytes([b]) for b in data[before - 2 :])] if before > 2 else [data]
    )
    assert _found(around)


def test_text_without_markup_passes_whole() -> None:
    text = b"a < b, c<d, <3, x <= y, <scripts are not tags>, <htmlish>\n" * 40000
    assert not _found([text[i : i + 1000003] for i in range(0, len(text), 1000003)])
    # More blanks after "<" than any tag is given: not taken for one.
    assert not _found([b"<" + b" " * 100 + b"script>"])
    # The padding of the probe that found the hole in the head-only check.
    assert _found([b" " * 9000 + b"<!doctype html><html><body><script>alert(1)</script>"])
