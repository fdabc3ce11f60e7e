"""Client commands: talk to a running server over its HTTP API (``--url``, ``--api-key`` or
``KYCVAULT_URL``, ``KYCVAULT_API_KEY``)."""

from __future__ import annotations

import json
import mimetypes
import sys
from pathlib import Path
from typing import IO, Annotated, Any

import typer

Url = Annotated[str, typer.Option("--url", envvar="KYCVAULT_URL", help="Base URL of the server.")]
ApiKey = Annotated[
    str, typer.Option("--api-key", envvar="KYCVAULT_API_KEY", help="API key (kvk_….…).")
]


def _client(url: str, api_key: str) -> Any:
    import httpx2

    return httpx2.Client(
        base_url=url.rstrip("/"),
        headers={"Authorization": f"Bearer {api_key}"},
        timeout=httpx2.Timeout(30.0, read=300.0),
    )


def _check(response: Any) -> Any:
    if response.status_code >= 400:
        try:
            problem = response.json()
            message = f"{problem.get('detail')} ({problem.get('code')})"
        except ValueError:
            message = response.text[:200]
        typer.echo(f"error {response.status_code}: {message}", err=True)
        raise typer.Exit(1)
    return response.json() if response.content else None


class _Progress:
    """A file object that advances a progress bar as the HTTP client reads it."""

    def __init__(self, handle: IO[bytes], advance: Any) -> None:
        self._handle = handle
        self._advance = advance

    def read(self, size: int = -1) -> bytes:
        data = self._handle.read(size)
        self._advance(len(data))
        return data

    def __getattr__(self, name: str) -> Any:
        return getattr(self._handle, name)


def upload(
    files: Annotated[list[Path], typer.Argument(exists=True, dir_okay=False, readable=True)],
    doc_type: Annotated[str, typer.Option("--type", help="Document type, e.g. passport.")],
    url: Url = "http://127.0.0.1:8000",
    api_key: ApiKey = "",
    subject: Annotated[str | None, typer.Option(help="Subject id.")] = None,
    name: Annotated[str | None, typer.Option(help="Document name.")] = None,
    role: Annotated[list[str] | None, typer.Option(help="One role per file, in order.")] = None,
) -> None:
    """Upload files as one new document, with a progress bar."""
    from rich.progress import BarColumn, DownloadColumn, Progress, TransferSpeedColumn

    data: dict[str, Any] = {"type": doc_type}
    if subject:
        data["subject_id"] = subject
    if name:
        data["name"] = name
    if role:
        data["role"] = role
    total = sum(path.stat().st_size for path in files)
    handles = [path.open("rb") for path in files]
    try:
        with Progress(
            "[progress.description]{task.description}",
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            transient=True,
        ) as progress:
            task = progress.add_task("uploading", total=total)

            def advance(count: int) -> None:
                progress.update(task, advance=count)

            parts = [
                (
                    "file",
                    (
                        path.name,
                        _Progress(handle, advance),
                        mimetypes.guess_type(path.name)[0] or "application/octet-stream",
                    ),
                )
                for path, handle in zip(files, handles, strict=True)
            ]
            with _client(url, api_key) as client:
                result = _check(client.post("/v1/documents", data=data, files=parts))
    finally:
        for handle in handles:
            handle.close()
    typer.echo(json.dumps(result, indent=2))


def list_documents(
    url: Url = "http://127.0.0.1:8000",
    api_key: ApiKey = "",
    subject: Annotated[str | None, typer.Option(help="Only this subject's documents.")] = None,
    doc_type: Annotated[
        list[str] | None, typer.Option("--type", help="Only documents of this type (repeatable).")
    ] = None,
    review_status: Annotated[
        list[str] | None,
        typer.Option(help="Only documents with this review status (repeatable)."),
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000, help="At most this many.")] = 50,
    as_json: Annotated[
        bool, typer.Option("--json", help="The documents as the API gives them, one JSON array.")
    ] = False,
) -> None:
    """List documents, newest first: a table, or JSON with --json (pages followed up to
    --limit)."""
    params: dict[str, Any] = {"limit": min(limit, 100)}
    if subject:
        params["subject_id"] = subject
    if doc_type:
        params["type"] = doc_type
    if review_status:
        params["review_status"] = review_status
    found: list[dict[str, Any]] = []
    with _client(url, api_key) as client:
        while len(found) < limit:
            page = _check(client.get("/v1/documents", params=params))
            found += page["data"][: limit - len(found)]
            if not page["has_more"] or not page["next_cursor"]:
                break
            params["cursor"] = page["next_cursor"]
    if as_json:
        typer.echo(json.dumps(found, indent=2))
        return
    _table(found)


def _table(documents: list[dict[str, Any]]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(box=None, pad_edge=False)
    table.add_column("id", no_wrap=True, min_width=36)  # whole, to copy into the next command
    for heading in ("type", "name", "review", "expires"):
        table.add_column(heading)
    table.add_column("files", no_wrap=True)
    for doc in documents:
        files = ", ".join(f"{f['id']} {f['filename'] or ''}".strip() for f in doc["files"])
        table.add_row(
            doc["id"],
            doc["type"],
            doc["name"] or "",
            (doc.get("review") or {}).get("status", ""),
            doc.get("expiry_date") or "",
            files or "-",
        )
    # Piped, rows are never cut to a terminal's width.
    Console(width=None if sys.stdout.isatty() else 10_000).print(table)
    typer.echo(f"{len(documents)} document{'s' if len(documents) != 1 else ''}")


def get(
    document_id: Annotated[str, typer.Argument()],
    file_id: Annotated[str, typer.Argument()],
    output: Annotated[Path, typer.Option("--output", "-o", help="Where to write the file.")],
    url: Url = "http://127.0.0.1:8000",
    api_key: ApiKey = "",
) -> None:
    """Download one file of a document."""
    path = f"/v1/documents/{document_id}/files/{file_id}/content"
    with _client(url, api_key) as client, client.stream("GET", path) as response:
        if response.status_code >= 400:
            response.read()
            _check(response)
        with output.open("wb") as handle:
            for chunk in response.iter_bytes():
                handle.write(chunk)
    typer.echo(f"wrote {output}")
