from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kycvault.domain.filenames import extension_of, sanitize_filename, stem_of
from kycvault.errors import InvalidInput


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
