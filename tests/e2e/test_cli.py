"""The ``kycvault`` command as an operator uses it. ``serve`` and ``migrate`` run as real
processes; the tenant, key and client commands are forked from a process that has imported
the command already (``tests/zygote.py``), the same ``main()`` from the command line on."""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx2
import pytest

from tests.helpers import Server, image_bytes

# The command-line client reaches the server at its URL.
pytestmark = pytest.mark.server_process


def test_serve_prints_the_url_and_a_ready_key_on_every_start(tmp_path: Path) -> None:
    first = Server(tmp_path, exec=True).start()
    try:
        output = first.output()
        assert f"serving at {first.url}" in output
        api_key = re.search(r"API key:\s+(kvk_\S+)", output).group(1)  # type: ignore[union-attr]
        response = httpx2.get(
            f"{first.url}/v1/subjects", headers={"Authorization": f"Bearer {api_key}"}
        )
        assert response.status_code == 200
        key_file = first.data_dir / "first-tenant.json"
        assert oct(key_file.stat().st_mode & 0o777) == "0o600"
        assert oct((first.data_dir / "master.key").stat().st_mode & 0o777) == "0o600"
        assert "master_key_created" in output
        # And said in a plain line, not only in the JSON log.
        assert f"  master key: {first.data_dir / 'master.key'} was just made. Back it up" in output
    finally:
        first.stop()
    again = Server(tmp_path, port=first.port, exec=True).start()
    try:
        assert f"API key:  {api_key}" in again.output()
        assert "master_key_created" not in again.output()
        assert "master key:" not in again.output()
    finally:
        again.stop()


def test_tenant_and_key_commands(server: Server) -> None:
    commands = server.twin()
    created = json.loads(commands.cli("tenant", "create", "Acme Fintech", "--json").stdout)
    assert set(created) >= {"tenant_id", "domain_id", "api_key", "key_id", "key_secret"}
    assert isinstance(created["domain_id"], int)
    assert created["api_key"] == f"{created['key_id']}.{created['key_secret']}"
    listed = json.loads(commands.cli("tenant", "list", "--json").stdout)
    assert {"tenant_id": created["tenant_id"], "domain_id": created["domain_id"]}.items() <= next(
        t for t in listed if t["name"] == "Acme Fintech"
    ).items()
    duplicate = commands.cli("tenant", "create", "Acme Fintech", check=False)
    assert duplicate.returncode == 1 and "tenant_exists" in duplicate.stderr

    second = json.loads(commands.cli("key", "create", str(created["domain_id"]), "--json").stdout)
    keys = json.loads(commands.cli("key", "list", "Acme Fintech", "--json").stdout)
    assert {k["key_id"] for k in keys} == {created["key_id"], second["key_id"]}
    assert created["key_secret"] not in json.dumps(keys)

    with server.client(second["api_key"]) as client:
        assert client.get("/v1/subjects").status_code == 200
        commands.cli("key", "revoke", second["key_id"])
        assert client.get("/v1/subjects").status_code == 401
    missing = commands.cli("key", "revoke", "kvk_0000000000000000", check=False)
    assert missing.returncode == 1 and "key_not_found" in missing.stderr


def test_client_commands(server: Server, tmp_path: Path) -> None:
    api_key = server.create_tenant()["api_key"]
    scan = tmp_path / "front.png"
    scan.write_bytes(image_bytes())
    client = server.twin(KYCVAULT_URL=server.url, KYCVAULT_API_KEY=api_key)

    def run(*args: str) -> str:
        return client.cli(*args).stdout

    doc = json.loads(run("upload", str(scan), "--type", "national_id", "--role", "FRONT"))
    assert doc["files"][0]["role"] == "FRONT"
    others = [json.loads(run("upload", str(scan), "--type", "passport")) for _ in range(3)]
    table = run("ls").splitlines()
    assert table[0].split() == ["id", "type", "name", "review", "expires", "files"]
    assert doc["id"] in "\n".join(table) and table[-1] == "4 documents"
    # Pages followed up to the limit (two at a time here would need --limit; the API's pages
    # hold up to 100), newest first, and filters passed through.
    listed = json.loads(run("ls", "--json", "--limit", "3"))
    assert [d["id"] for d in listed] == [d["id"] for d in reversed(others)]
    ids = [d["id"] for d in json.loads(run("ls", "--json", "--type", "national_id"))]
    assert ids == [doc["id"]]
    assert json.loads(run("ls", "--json", "--review-status", "approved")) == []
    out = tmp_path / "copy.png"
    run("get", doc["id"], doc["files"][0]["id"], "-o", str(out))
    assert out.read_bytes() == scan.read_bytes()
    # What fails is one line naming the status and the problem's code; nothing is written.
    missing = client.cli("get", doc["id"], doc["id"], "-o", str(tmp_path / "no.png"), check=False)
    assert missing.returncode == 1 and missing.stderr.startswith("error 404: ")
    assert "Traceback" not in missing.stderr and sorted(tmp_path.iterdir()) == [out, scan]
    refused = client.cli("upload", str(scan), "--type", "no_such_type", check=False)
    assert refused.returncode == 1 and "(unknown_document_type)" in refused.stderr


def test_migrate_command(tmp_path: Path) -> None:
    server = Server(tmp_path, exec=True)
    done = server.cli("migrate")
    assert "schema is up to date" in done.stdout
    assert (server.data_dir / "kycvault.db").exists()
