"""The subject access export's zip (GDPR Art. 15), written as a stream, and its check.

The zip is written to a sink that cannot seek: each entry's sizes and CRC follow its data
(a data descriptor), so nothing is held back, and every call hands back the bytes ready to
send. ZIP64 records appear only for an entry that needs them (its size is known before it
is written) or an archive past 4 GiB. JSON entries are deflated; file content, mostly
compressed already (JPEG, PDF), is stored.

Every entry is listed in ``manifest.json`` with its size and SHA-256, and the manifest is
signed (``signed_manifest.py``) in ``manifest.sig``: ``check`` takes a downloaded zip apart
entry by entry against them. Entry names are ids the vault made (``documents/<id>/files/
<id>.png``), never a name a client gave: those stay inside the JSON.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from kycvault.domain import signed_manifest

FORMAT = "kycvault-subject-export"
VERSION = 1
MANIFEST = "manifest.json"
SIGNATURE = signed_manifest.SIGNATURE_NAME
# The MAC key's label (``Cipher.derive_secret``): its own key, used for nothing else.
MAC_LABEL = "subject-export-mac/v1"
_READ = 1024 * 1024
_MODE = 0o600 << 16  # unzip makes the files readable by their owner only
_EARLIEST = (1980, 1, 1, 0, 0, 0)  # the zip format counts from 1980


@dataclass(frozen=True, slots=True)
class Entry:
    name: str
    size: int
    sha256: str

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "size": self.size, "sha256": self.sha256}


class _Sink:
    """Where the zip writes: collects bytes until they are taken. No ``seek`` or ``tell``,
    so ``zipfile`` streams (data descriptors) rather than go back to patch headers."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []

    def write(self, data: bytes) -> int:
        self._parts.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        pass

    def close(self) -> None:
        pass

    def take(self) -> bytes:
        out = b"".join(self._parts)
        self._parts.clear()
        return out


def _info(name: str, when: datetime, compress: int) -> zipfile.ZipInfo:
    stamp = when.timetuple()[:6]
    info = zipfile.ZipInfo(name, date_time=max(stamp, _EARLIEST))
    info.compress_type = compress
    info.external_attr = _MODE
    return info


class EntryWriter:
    """One entry being written: its bytes go in as they come, hashed on the way."""

    def __init__(
        self, archive: ArchiveWriter, name: str, when: datetime, size: int, deflate: bool
    ) -> None:
        self._archive = archive
        self._name = name
        info = _info(name, when, zipfile.ZIP_DEFLATED if deflate else zipfile.ZIP_STORED)
        info.file_size = size  # decides whether the entry needs ZIP64 fields
        self._out = archive.zip.open(info, "w")
        self._digest = hashlib.sha256()
        self._size = 0

    def write(self, chunk: bytes) -> bytes:
        """Add ``chunk``; the zip's bytes ready to send."""
        self._digest.update(chunk)
        self._size += len(chunk)
        self._out.write(chunk)
        return self._archive.take()

    @property
    def sha256(self) -> str:
        return self._digest.hexdigest()

    def close(self) -> bytes:
        """End the entry (its data descriptor) and list it in the manifest."""
        self._out.close()
        self._archive.entries.append(Entry(self._name, self._size, self.sha256))
        return self._archive.take()


@dataclass
class ArchiveWriter:
    """A zip as a stream of byte strings; ``finish`` adds the signed manifest and ends it."""

    _sink: _Sink = field(default_factory=_Sink)
    entries: list[Entry] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.zip = zipfile.ZipFile(self._sink, "w", allowZip64=True)

    def take(self) -> bytes:
        return self._sink.take()

    def add(self, name: str, data: bytes, when: datetime, *, listed: bool = True) -> bytes:
        """A whole (small) entry, deflated; the zip's bytes ready to send."""
        self.zip.writestr(_info(name, when, zipfile.ZIP_DEFLATED), data)
        if listed:
            self.entries.append(Entry(name, len(data), hashlib.sha256(data).hexdigest()))
        return self.take()

    def add_json(self, name: str, value: Any, when: datetime) -> bytes:
        return self.add(name, json_bytes(value), when)

    def open(
        self, name: str, when: datetime, *, size: int = 0, deflate: bool = False
    ) -> EntryWriter:
        """An entry to be written piece by piece: ``size`` bytes when known beforehand (a
        file's; an entry that turns out longer than 2 GiB without it fails), stored or, with
        ``deflate``, deflated."""
        return EntryWriter(self, name, when, size, deflate)

    def finish(self, header: Mapping[str, Any], key: bytes, when: datetime) -> bytes:
        """``manifest.json`` (``header`` and every entry), its signature under ``key``, and
        the zip's central directory."""
        manifest = {
            "format": FORMAT,
            "version": VERSION,
            **header,
            "entries": [entry.as_dict() for entry in self.entries],
        }
        text = json_bytes(manifest)
        out = self.add(MANIFEST, text, when, listed=False)
        signature = signed_manifest.sign(key, MAC_LABEL, text)
        out += self.add(SIGNATURE, signature, when, listed=False)
        self.zip.close()
        return out + self.take()


def json_bytes(value: Any) -> bytes:
    return (json.dumps(value, indent=2, ensure_ascii=False, default=str) + "\n").encode()


@dataclass(frozen=True, slots=True)
class Finding:
    """The first thing in an archive that does not match: which entry, and how."""

    entry: str
    reason: str


@dataclass(frozen=True, slots=True)
class ArchiveCheck:
    entries: int
    finding: Finding | None
    subject_id: str | None = None


def _digest(archive: zipfile.ZipFile, name: str) -> tuple[int, str]:
    digest, size = hashlib.sha256(), 0
    with archive.open(name) as handle:
        while piece := handle.read(_READ):
            digest.update(piece)
            size += len(piece)
    return size, digest.hexdigest()


def _listed(manifest: Any) -> Iterator[tuple[str, int, str]]:
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ValueError("not a kycvault subject export")
    if manifest.get("version") != VERSION:
        raise ValueError(f"a subject export of version {manifest.get('version')!r}")
    for entry in manifest.get("entries", []):
        yield str(entry["name"]), int(entry["size"]), str(entry["sha256"])


def check(path: Path, key: bytes) -> ArchiveCheck:
    """Check a downloaded export: the manifest's MAC under ``key``, then every entry's size
    and SHA-256 against it, and nothing in the zip that the manifest does not list. Stops
    at the first finding. Reads a piece at a time (any size of archive); blocking."""
    try:
        with zipfile.ZipFile(path) as archive:
            return _check(archive, key)
    except (zipfile.BadZipFile, OSError) as exc:
        return ArchiveCheck(0, Finding("(archive)", f"not a readable zip: {exc}"))


def _check(archive: zipfile.ZipFile, key: bytes) -> ArchiveCheck:
    names = archive.namelist()
    for meta in (MANIFEST, SIGNATURE):
        if meta not in names:
            return ArchiveCheck(0, Finding(meta, "missing"))
    seen: set[str] = set()
    for name in names:
        if name in seen:
            return ArchiveCheck(0, Finding(name, "in the zip twice"))
        seen.add(name)
    text = archive.read(MANIFEST)
    refused = signed_manifest.check(key, MAC_LABEL, text, archive.read(SIGNATURE))
    if refused is not None:
        return ArchiveCheck(0, Finding(MANIFEST, refused))
    manifest = json.loads(text)
    try:
        listed = list(_listed(manifest))
    except (ValueError, KeyError, TypeError) as exc:
        return ArchiveCheck(0, Finding(MANIFEST, f"unreadable: {exc}"))
    subject = str(manifest.get("subject_id"))
    checked = 0
    for name, size, sha256 in listed:
        if name not in seen:
            return ArchiveCheck(checked, Finding(name, "listed in the manifest, missing"), subject)
        try:
            found = _digest(archive, name)
        except zipfile.BadZipFile as exc:  # a CRC that does not match, say
            return ArchiveCheck(checked, Finding(name, str(exc)), subject)
        if found != (size, sha256):
            reason = f"{found[0]} bytes with SHA-256 {found[1]}; the manifest says {size}, {sha256}"
            return ArchiveCheck(checked, Finding(name, reason), subject)
        checked += 1
    extra = seen - {name for name, _, _ in listed} - {MANIFEST, SIGNATURE}
    if extra:
        return ArchiveCheck(checked, Finding(sorted(extra)[0], "not in the manifest"), subject)
    return ArchiveCheck(checked, None, subject)
