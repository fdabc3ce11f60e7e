"""``Content-Disposition`` of served files (api/file_serving.py): for any display name the header
is one line of printable ASCII in RFC 6266 form, its ``filename*`` (RFC 8187) decodes back to
the name exactly, and its ``filename`` fallback is a plain quoted string."""

from __future__ import annotations

import re
from urllib.parse import unquote

from hypothesis import given, settings
from hypothesis import strategies as st

from kycvault.api.file_serving import content_disposition
from kycvault.domain.filenames import sanitize_filename

# RFC 6266 with RFC 8187's ext-value: attr-chars and percent-encoded octets only.
_FORM = re.compile(
    r"(?P<disposition>inline|attachment); "
    r'filename="(?P<fallback>[ !#$&-\[\]-~]*)"; '
    r"filename\*=UTF-8''(?P<encoded>(?:[A-Za-z0-9!#$&+\-.^_`|~]|%[0-9A-F]{2})*)"
)
_NO_SURROGATES = st.text(st.characters(codec="utf-8"), min_size=1, max_size=300)
_ANY = st.text(st.characters(codec=None, exclude_categories=()), min_size=1, max_size=300)
_DISPOSITION = st.sampled_from(["attachment", "inline"])


def _check(disposition: str, name: str) -> None:
    value = content_disposition(disposition, name)  # type: ignore[arg-type]
    assert all(32 <= ord(ch) < 127 for ch in value), value  # no CR, LF, NUL or 8-bit bytes
    match = _FORM.fullmatch(value)
    assert match, value
    assert match["disposition"] == disposition
    assert unquote(match["encoded"], encoding="utf-8", errors="strict") == name
    # The fallback keeps every plain ASCII character in place (so an ASCII extension survives)
    # and stands "_" for the rest.
    fallback = match["fallback"]
    assert len(fallback) == len(name)
    for shown, original in zip(fallback, name, strict=True):
        plain = 32 <= ord(original) < 127 and original not in '"\\%;'
        assert shown == (original if plain else "_")


@settings(max_examples=300, deadline=None)
@given(_DISPOSITION, _NO_SURROGATES)
def test_any_name_makes_one_clean_header_that_decodes_back(disposition: str, name: str) -> None:
    _check(disposition, name)


@settings(max_examples=300, deadline=None)
@given(_DISPOSITION, _ANY)
def test_any_client_filename_as_stored_makes_a_clean_header(disposition: str, raw: str) -> None:
    # What is stored is the sanitised name: whatever the client sent (lone surrogates included).
    name = sanitize_filename(raw[:300])
    if name is not None:
        _check(disposition, name)


def test_printable_ascii_names_are_their_own_fallback() -> None:
    _check("attachment", "passport scan (1).pdf")
    assert 'filename="passport scan (1).pdf"' in content_disposition(
        "attachment", "passport scan (1).pdf"
    )
