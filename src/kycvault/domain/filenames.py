"""Client filenames are display text, never paths.

A stored file is addressed by a server UUID; the name the client sent is only kept, cleaned, to
show back and to offer in ``Content-Disposition``. Cleaning takes the last path segment (both
``/`` and ``\\``), normalises to NFC, drops control, format (bidi overrides, zero-width) and
separator characters, trims trailing dots and spaces (a Windows trick), and caps the result at
255 UTF-8 bytes while keeping the extension.
"""

from __future__ import annotations

import unicodedata

from kycvault.errors import InvalidInput

MAX_RAW_FILENAME_BYTES = 1024
MAX_DISPLAY_NAME_BYTES = 255
_DROP_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})


def sanitize_filename(raw: str | None, *, field: str = "file") -> str | None:
    """The display name for a client-sent filename, or None if nothing usable remains.

    Raises:
        InvalidInput: the raw name is absurdly long (``filename_too_long``).
    """
    if raw is None:
        return None
    if len(raw.encode("utf-8", "surrogatepass")) > MAX_RAW_FILENAME_BYTES:
        raise InvalidInput.field(
            field, "filename_too_long", f"filename longer than {MAX_RAW_FILENAME_BYTES} bytes"
        )
    name = raw.replace("\\", "/").rsplit("/", 1)[-1]
    name = unicodedata.normalize("NFC", name).replace("\t", " ")
    name = "".join(ch for ch in name if unicodedata.category(ch) not in _DROP_CATEGORIES)
    name = name.strip().rstrip(". ").strip()
    if name in {"", ".", ".."}:
        return None
    return _cap(name)


def _cap(name: str) -> str:
    if len(name.encode()) <= MAX_DISPLAY_NAME_BYTES:
        return name
    stem, dot, ext = name.rpartition(".")
    suffix = f".{ext}" if dot and stem and len(ext.encode()) <= 16 else ""
    base = name[: len(name) - len(suffix)]
    budget = MAX_DISPLAY_NAME_BYTES - len(suffix.encode())
    cut = base.encode()[:budget].decode("utf-8", "ignore").rstrip(". ")
    return cut + suffix


def extension_of(name: str | None) -> str | None:
    """Lower-case extension of a display name, without the dot; None when there is none."""
    if not name:
        return None
    stem, dot, ext = name.rpartition(".")
    if not dot or not stem or not ext:
        return None
    return ext.lower()


def stem_of(name: str) -> str:
    """The name without its extension (Sila's ``filename`` has none)."""
    stem, dot, ext = name.rpartition(".")
    return stem if dot and stem and ext else name
