"""Traces of editing a file carries: EXIF ``Software``, the XMP packet's creator tool and
history, and a PDF's revisions, producer, creator and dates. They are reported as found;
which of them count as signs of tampering is decided in ``kycvault.domain.authenticity``."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

_XMP = re.compile(rb"<x:xmpmeta.*?</x:xmpmeta>", re.DOTALL)
_XMP_LIMIT = 4 * 1024 * 1024
_TOOL = re.compile(r"(?:CreatorTool|softwareAgent)(?:=\"([^\"]*)\"|>([^<]*)<)")
_HISTORY_ACTION = re.compile(r"stEvt:action(?:=\"([^\"]*)\"|>([^<]*)<)")
_PDF_DATE = re.compile(
    r"D:(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?([Zz+\-])?(\d{2})?'?(\d{2})?"
)


def xmp_traces(content: bytes) -> dict[str, Any]:
    """Tools named in an XMP packet (creator tool, history agents) and its history actions."""
    match = _XMP.search(content[:_XMP_LIMIT])
    if match is None:
        return {}
    text = match.group(0).decode("utf-8", errors="replace")
    tools = [a or b for a, b in _TOOL.findall(text) if (a or b).strip()]
    actions = [a or b for a, b in _HISTORY_ACTION.findall(text) if (a or b).strip()]
    return {"xmp_tools": sorted(set(tools)), "xmp_actions": actions[:50]}


def pdf_date(value: object) -> str | None:
    """A PDF date (``D:YYYYMMDDHHmmSSOHH'mm``) as ISO 8601 in UTC, or None."""
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
    except ValueError:
        return None
    offset = timedelta(hours=int(tz_h or 0), minutes=int(tz_m or 0))
    zone = UTC if sign in (None, "Z", "z") else timezone(offset if sign == "+" else -offset)
    return moment.replace(tzinfo=zone).astimezone(UTC).isoformat()


def pdf_revisions(content: bytes) -> int:
    """How many times the file was saved: one ``%%EOF`` per revision, less the extra one a
    linearised ("fast web view") file has from the start."""
    count = content.count(b"%%EOF")
    if b"/Linearized" in content[:2048] and count > 1:
        count -= 1
    return max(1, count)
