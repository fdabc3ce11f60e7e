"""Traces of editing a file carries: EXIF ``Software``, the XMP packet's creator tool and
history, and a PDF's revisions, signatures, producer, creator and dates. They are reported as
found; which of them count as signs of tampering is decided in
``kycvault.domain.authenticity``."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

_XMP_OPEN, _XMP_CLOSE = b"<x:xmpmeta", b"</x:xmpmeta>"
XMP_LIMIT = 4 * 1024 * 1024
_LISTED = 50  # tools and actions kept, each at most _NAME_LIMIT characters
_NAME_LIMIT = 200
_TOOL = re.compile(r"(?:CreatorTool|softwareAgent)(?:=\"([^\"]*)\"|='([^']*)'|>([^<]*)<)")
_HISTORY_ACTION = re.compile(r"stEvt:action(?:=\"([^\"]*)\"|='([^']*)'|>([^<]*)<)")
_PDF_DATE = re.compile(
    r"(?:D:)?(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?([Zz+\-])?(\d{2})?'?(\d{2})?"
)
# A signature's /ByteRange [start length start length]: the bytes the signature covers.
_BYTE_RANGE = re.compile(rb"/ByteRange\s*\[\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*\]")
_SIGNATURE_VALUE = re.compile(rb"<[0-9A-Fa-f\s]*>")
_SIGNATURE_LIMIT = 1024 * 1024  # the hex signature value left out of the range


def xmp_packet(content: bytes) -> str | None:
    """The first XMP packet in the raw bytes (how JPEG, PNG, WebP and most PDFs carry it)."""
    head = content[:XMP_LIMIT]
    # find() rather than a lazy regex: a file full of unclosed openers must stay linear.
    start = head.find(_XMP_OPEN)
    if start < 0:
        return None
    end = head.find(_XMP_CLOSE, start)
    if end < 0:
        return None
    return head[start : end + len(_XMP_CLOSE)].decode("utf-8", errors="replace")


def _values(pattern: re.Pattern[str], text: str) -> list[str]:
    values = (next((g for g in groups if g), "").strip() for groups in pattern.findall(text))
    return [value[:_NAME_LIMIT] for value in values if value]


def xmp_traces(packet: str | None) -> dict[str, Any]:
    """Tools named in an XMP packet (creator tool, history agents) and its history actions."""
    if not packet:
        return {}
    tools = sorted(set(_values(_TOOL, packet)))
    actions = _values(_HISTORY_ACTION, packet)
    return {"xmp_tools": tools[:_LISTED], "xmp_actions": actions[:_LISTED]}


def pdf_date(value: object) -> str | None:
    """A PDF date (``D:YYYYMMDDHHmmSSOHH'mm``) as ISO 8601 in UTC, or None when it is not
    one (a damaged date is a missing date, not a reason to give up on the file)."""
    if not isinstance(value, str):
        return None
    match = _PDF_DATE.search(value)
    if match is None:
        return None
    year, month, day, hour, minute, second, sign, tz_h, tz_m = match.groups()
    try:
        moment = datetime(
            int(year),
            int(month or 1),
            int(day or 1),
            int(hour or 0),
            int(minute or 0),
            int(second or 0),
        )
        offset = timedelta(hours=int(tz_h or 0), minutes=int(tz_m or 0))
        zone = UTC if sign in (None, "Z", "z") else timezone(offset if sign == "+" else -offset)
        return moment.replace(tzinfo=zone).astimezone(UTC).isoformat()
    except (ValueError, OverflowError):
        return None


def _revision_ends(content: bytes) -> list[int]:
    """Where each saved revision ends: after its ``%%EOF`` and the line break that follows."""
    ends = []
    at = content.find(b"%%EOF")
    while at >= 0:
        end = at + 5
        while end < len(content) and end < at + 7 and content[end] in b"\r\n":
            end += 1
        ends.append(end)
        at = content.find(b"%%EOF", end)
    return ends


def _linearised(content: bytes) -> bool:
    return b"/Linearized" in content[:2048]


def pdf_revisions(content: bytes) -> int:
    """How many times the file was saved: one ``%%EOF`` per revision, less the extra one a
    linearised ("fast web view") file has from the start."""
    count = len(_revision_ends(content))
    if _linearised(content) and count > 1:
        count -= 1
    return max(1, count)


def pdf_signed_updates(content: bytes) -> int:
    """How many of the updates after the first save each added a digital signature over the
    whole file as it was (signing is itself an incremental update, so a signed statement
    has one more revision per signature without anyone having changed it). A signature is
    recognised by its ``/ByteRange``: from the start of the file to the end of a revision,
    leaving out only the hexadecimal signature value."""
    ends = _revision_ends(content)
    first = 1 if _linearised(content) and len(ends) > 1 else 0
    signed: set[int] = set()
    for match in _BYTE_RANGE.finditer(content):
        start, length, second, second_length = (int(v) for v in match.groups())
        if start != 0 or not 0 < second - length <= _SIGNATURE_LIMIT:
            continue
        if not _SIGNATURE_VALUE.fullmatch(content, length, second):
            continue
        covered = second + second_length
        for index, end in enumerate(ends):
            if index > first and end - 2 <= covered <= end:
                signed.add(index)
    return len(signed)
