"""The subject export's zip as written to a stream (``domain/subject_archive.py``): readable
by ``zipfile`` and Info-ZIP alike, ZIP64 only where an entry needs it, and ``check`` finding
the first entry, signature or manifest that does not match."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pytest

from kycvault.domain import signed_manifest, subject_archive

KEY = hashlib.sha256(b"a test key").digest()
WHEN = datetime(2026, 12, 7, 1, 2, 3, tzinfo=UTC)
CONTENT = os.urandom(3 * 1024 * 1024 + 17)


def _write(path: Path, *, content: bytes = CONTENT) -> list[bytes]:
    """An archive of a JSON entry, a file written in 1 MiB pieces and an audit entry; the
    pieces the writer handed back, in order."""
    archive = subject_archive.ArchiveWriter()
    pieces = [archive.add_json("subject.json", {"id": "s1", "name": "Ä"}, WHEN)]
    entry = archive.open("documents/d1/files/f1.pdf", WHEN, size=len(content))
    for start in range(0, len(content), 1 << 20):
        pieces.append(entry.write(content[start : start + (1 << 20)]))
    pieces.append(entry.close())
    audit = archive.open("audit-events.jsonl", WHEN, deflate=True)
    pieces.append(audit.write(b'{"action":"subject.exported"}\n' * 1000))
    pieces.append(audit.close())
    pieces.append(archive.finish({"subject_id": "s1"}, KEY, WHEN))
    path.write_bytes(b"".join(pieces))
    return pieces


def test_a_streamed_archive_reads_back_and_checks(tmp_path: Path) -> None:
    path = tmp_path / "export.zip"
    pieces = _write(path)
    assert max(len(p) for p in pieces) < 2 * 1024 * 1024  # nothing held back
    with zipfile.ZipFile(path) as archive:
        assert archive.testzip() is None
        assert archive.read("documents/d1/files/f1.pdf") == CONTENT
        infos = {i.filename: i for i in archive.infolist()}
        manifest = json.loads(archive.read("manifest.json"))
        signature = archive.read("manifest.sig")
    assert infos["documents/d1/files/f1.pdf"].compress_type == zipfile.ZIP_STORED
    assert infos["audit-events.jsonl"].compress_type == zipfile.ZIP_DEFLATED
    assert all(i.date_time == (2026, 12, 7, 1, 2, 2) for i in infos.values())  # 2 s steps
    assert all(i.extra == b"" for i in infos.values())  # no ZIP64 field: none was needed
    assert manifest["format"] == subject_archive.FORMAT and manifest["subject_id"] == "s1"
    listed = {e["name"]: e for e in manifest["entries"]}
    assert listed["documents/d1/files/f1.pdf"] == {
        "name": "documents/d1/files/f1.pdf",
        "size": len(CONTENT),
        "sha256": hashlib.sha256(CONTENT).hexdigest(),
    }
    assert set(listed) == set(infos) - {"manifest.json", "manifest.sig"}
    assert json.loads(signature)["key"] == subject_archive.MAC_LABEL
    result = subject_archive.check(path, KEY)
    assert result.finding is None and result.entries == 3 and result.subject_id == "s1"


@pytest.mark.skipif(shutil.which("unzip") is None, reason="Info-ZIP unzip is not installed")
def test_info_zip_reads_the_data_descriptors(tmp_path: Path) -> None:
    path = tmp_path / "export.zip"
    _write(path)
    tested = subprocess.run(["unzip", "-t", str(path)], capture_output=True, text=True)
    assert tested.returncode == 0, tested.stdout
    assert "No errors detected" in tested.stdout


def test_an_entry_over_the_zip32_limit_is_given_zip64_fields(tmp_path: Path) -> None:
    archive = subject_archive.ArchiveWriter()
    entry = archive.open("big", WHEN, size=5 * 1024**3)
    head = entry.write(b"x")
    # The local header's extra field is the ZIP64 one (id 0x0001).
    name_length, extra_length = int.from_bytes(head[26:28], "little"), head[28:30]
    assert int.from_bytes(extra_length, "little") > 0
    assert head[30 + name_length : 32 + name_length] == b"\x01\x00"


def _rewritten(source: Path, target: Path, edit: dict[str, bytes], extra: str = "") -> Path:
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w") as new:
        for info in old.infolist():
            if info.filename in edit and not edit[info.filename]:
                continue  # removed
            new.writestr(info.filename, edit.get(info.filename) or old.read(info.filename))
        if extra:
            new.writestr(extra, b"more")
    return target


def test_check_names_the_first_thing_that_does_not_match(tmp_path: Path) -> None:
    path = tmp_path / "export.zip"
    _write(path)
    with zipfile.ZipFile(path) as archive:
        manifest = archive.read("manifest.json")
    file_name = "documents/d1/files/f1.pdf"

    def finding(candidate: Path, key: bytes = KEY) -> tuple[str, str]:
        found = subject_archive.check(candidate, key).finding
        assert found is not None
        return found.entry, found.reason

    assert finding(path, hashlib.sha256(b"another key").digest())[0] == "manifest.json"
    changed = _rewritten(path, tmp_path / "changed.zip", {file_name: b"%PDF other"})
    assert finding(changed) == (
        file_name,
        f"10 bytes with SHA-256 {hashlib.sha256(b'%PDF other').hexdigest()}; "
        f"the manifest says {len(CONTENT)}, {hashlib.sha256(CONTENT).hexdigest()}",
    )
    assert finding(_rewritten(path, tmp_path / "gone.zip", {file_name: b""})) == (
        file_name,
        "listed in the manifest, missing",
    )
    extra = _rewritten(path, tmp_path / "extra.zip", {}, extra="documents/d2/x.pdf")
    assert finding(extra) == ("documents/d2/x.pdf", "not in the manifest")
    unsigned = _rewritten(path, tmp_path / "unsigned.zip", {"manifest.sig": b""})
    assert finding(unsigned) == ("manifest.sig", "missing")
    # A manifest edited and signed again under a key other than the vault's.
    forged = manifest.replace(b'"s1"', b'"s2"')
    resigned = signed_manifest.sign(b"k" * 32, subject_archive.MAC_LABEL, forged)
    edits = {"manifest.json": forged, "manifest.sig": resigned}
    assert finding(_rewritten(path, tmp_path / "resigned.zip", edits))[0] == "manifest.json"
    truncated = tmp_path / "truncated.zip"
    truncated.write_bytes(path.read_bytes()[: len(CONTENT) // 2])
    assert finding(truncated)[0] == "(archive)"
