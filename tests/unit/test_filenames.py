from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kycvault.domain.filenames import (
    MAX_DISPLAY_NAME_BYTES,
    MAX_RAW_FILENAME_BYTES,
    extension_of,
    sanitize_filename,
    stem_of,
)
from kycvault.errors import InvalidInput

# Control, format (bidi overrides, zero-width), surrogate, private-use, unassigned, and line or
# paragraph separator characters.
DROPPED = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("passport.jpg", "passport.jpg"),
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\ada\\scan.PDF", "scan.PDF"),
        ("a\r\nb.png", "ab.png"),
        ("evil\u202egnp.exe", "evilgnp.exe"),
        ("zero\u200bwidth.pdf", "zerowidth.pdf"),
        ("trailing.pdf. . ", "trailing.pdf"),
        ("nul\x00byte.pdf", "nulbyte.pdf"),
        ("tab\tname.pdf", "tab name.pdf"),
        ("..", None),
        ("/", None),
        ("", None),
        (None, None),
        ("e\u0301t\u00e9.png", "\u00e9t\u00e9.png"),
    ],
)
def test_sanitize(raw: str | None, expected: str | None) -> None:
    assert sanitize_filename(raw) == expected


def test_long_names_are_capped_keeping_the_extension() -> None:
    name = sanitize_filename("x" * 400 + ".pdf")
    assert name is not None
    assert len(name.encode()) <= 255
    assert name.endswith(".pdf")


def test_absurd_names_are_refused() -> None:
    with pytest.raises(InvalidInput) as caught:
        sanitize_filename("a" * 2000)
    assert caught.value.code == "filename_too_long"


@given(st.text(max_size=300))
def test_sanitized_names_are_plain_display_text(raw: str) -> None:
    name = sanitize_filename(raw)
    if name is None:
        return
    assert "/" not in name and "\\" not in name
    assert name not in {".", ".."}
    assert all(ord(ch) >= 32 and ch not in "\u202e\u2028\u2029\x7f" for ch in name)
    assert len(name.encode("utf-8", "surrogatepass")) <= 255


def test_extension_and_stem() -> None:
    assert extension_of("a.tar.PDF") == "pdf"
    assert extension_of(".bashrc") is None
    assert extension_of("noext") is None
    assert extension_of(None) is None
    assert stem_of("img_2019.jpg") == "img_2019"
    assert stem_of("noext") == "noext"


# Any code point at all, lone surrogates included (a multipart parser may hand them over).
_ANY_TEXT = st.text(st.characters(codec=None, exclude_categories=()), max_size=1100)


@settings(max_examples=500, deadline=None)
@given(_ANY_TEXT)
def test_sanitising_any_text_gives_a_bounded_plain_name_or_refuses_a_long_one(raw: str) -> None:
    too_long = len(raw.encode("utf-8", "surrogatepass")) > MAX_RAW_FILENAME_BYTES
    if too_long:
        with pytest.raises(InvalidInput) as refused:
            sanitize_filename(raw)
        assert refused.value.code == "filename_too_long"
        return
    name = sanitize_filename(raw)
    if name is None:
        return
    assert name == name.strip() and name not in {".", ".."}
    assert not name.endswith(".")
    assert "/" not in name and "\\" not in name
    assert not any(unicodedata.category(ch) in DROPPED for ch in name)
    assert len(name.encode()) <= MAX_DISPLAY_NAME_BYTES
    assert unicodedata.is_normalized("NFC", name)


@settings(max_examples=500, deadline=None)
@given(_ANY_TEXT.filter(lambda raw: len(raw.encode("utf-8", "surrogatepass")) <= 1024))
def test_sanitising_is_idempotent(raw: str) -> None:
    once = sanitize_filename(raw)
    assert sanitize_filename(once) == once
