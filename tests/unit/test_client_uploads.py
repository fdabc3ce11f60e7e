"""The client's multipart body: what the server's parser reads from it, its length, and
progress told as the files are read."""

from __future__ import annotations

import io
from email import message_from_bytes, policy
from pathlib import Path

from kycvault.client.uploads import CHUNK, MultipartBody, Upload


def test_fields_then_files_with_roles_and_exact_length(tmp_path: Path) -> None:
    scan = tmp_path / 'front "1".png'
    scan.write_bytes(b"\x89PNG" + b"x" * (CHUNK * 2 + 10))
    told: list[tuple[int, int | None]] = []
    body = MultipartBody(
        [("type", "national_id")],
        [Upload(scan, role="FRONT"), Upload(io.BytesIO(b"%PDF-1.4"), filename="b.pdf")],
        lambda done, total: told.append((done, total)),
    )
    raw = b"".join(body)
    assert body.length == len(raw) and body.headers()["Content-Length"] == str(len(raw))
    total = scan.stat().st_size + len(b"%PDF-1.4")
    assert told[0] == (0, total) and told[-1] == (total, total) and len(told) > 3

    head = f"Content-Type: {body.content_type}\r\n\r\n".encode()
    parts = list(message_from_bytes(head + raw, policy=policy.HTTP).iter_parts())
    names = [p.get_param("name", header="content-disposition") for p in parts]
    assert names == ["type", "role", "role", "file", "file"]
    assert [p.get_content() for p in parts[:3]] == ["national_id", "FRONT", ""]
    assert parts[3].get_filename() == "front %221%22.png"
    assert parts[3].get_payload(decode=True) == scan.read_bytes()
    assert parts[4].get_filename() == "b.pdf" and parts[4].get_content_type() == "application/pdf"
    # Each iteration is the body from its start (a retry's): the file object rewound.
    assert b"".join(body) == raw
