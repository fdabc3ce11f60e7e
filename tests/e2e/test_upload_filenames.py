"""End to end: what becomes of the filename a client sends with an upload: sanitised,
capped or refused, and never used as a path on disk."""

from __future__ import annotations

from typing import Any

import httpx2
import pytest

from tests.e2e.uploads_support import (
    Snapshot,
    assert_problem,
    blob_path,
    create,
    png_part,
    tenant_blobs,
)
from tests.helpers import Server

# Nothing may be written relative to the server's working directory (its root): only a
# process has one of its own.
pytestmark = pytest.mark.server_process

# --------------------------------------------------------------------------- filenames


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        ("../../etc/passwd.png", "passwd.png"),
        ("/etc/passwd.png", "passwd.png"),
        ("C:\\x\\scan.png", "scan.png"),
        ("..\\..\\windows\\scan.png", "scan.png"),
        ("sc\x01an\x1b\x7f.png", "scan.png"),
        ("sc\nan.png", "scan.png"),
        ("invoice\u202egnp.exe.png", "invoicegnp.exe.png"),
        ("zero\u200bwidth.png", "zerowidth.png"),
        ("tab\tname.png", "tab name.png"),
        ("trailing.png. . ", "trailing.png"),
        ("паспорт.png", "паспорт.png"),
    ],
    ids=[
        "traversal",
        "absolute",
        "windows-path",
        "windows-traversal",
        "controls",
        "newline",
        "rtl-override",
        "zero-width",
        "tab",
        "trailing-dots",
        "unicode",
    ],
)
def test_filenames_are_sanitised(
    server: Server, tenant: dict[str, Any], client: httpx2.Client, raw: str, stored: str
) -> None:
    response = create(client, "bank_statement", png_part(raw))
    assert response.status_code == 201, response.text
    [file] = response.json()["files"]
    assert file["filename"] == stored
    # The blob lives under the server's own id, whatever the name said.
    assert tenant_blobs(server, tenant) == {blob_path(server, tenant, file["id"])}
    assert not (server.root / "etc").exists()
    assert not (server.data_dir / "etc").exists()


def test_filename_too_long_is_400(
    server: Server, tenant: dict[str, Any], client: httpx2.Client
) -> None:
    before = Snapshot(server, tenant, client)
    response = create(client, "bank_statement", png_part("a" * 1996 + ".png"))
    assert len(("a" * 1996 + ".png").encode()) == 2000
    body = assert_problem(response, 400, "filename_too_long")
    assert body["errors"][0]["field"] == "files.0"
    before.assert_unchanged()


def test_long_filename_is_capped_keeping_extension(client: httpx2.Client) -> None:
    response = create(client, "bank_statement", png_part("b" * 600 + ".png"))
    assert response.status_code == 201, response.text
    name = response.json()["files"][0]["filename"]
    assert name.endswith(".png")
    assert len(name.encode()) <= 255
    assert name == "b" * 251 + ".png"


def test_filename_that_sanitises_to_nothing_is_stored_without_name(client: httpx2.Client) -> None:
    response = create(client, "bank_statement", png_part("../.."))
    assert response.status_code == 201, response.text
    file = response.json()["files"][0]
    assert file["filename"] is None
    assert file["content_type"] == "image/png"
