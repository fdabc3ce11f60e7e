"""Client commands: talk to a running server over its HTTP API (``--url``, ``--api-key`` or
``KYCVAULT_URL``, ``KYCVAULT_API_KEY``)."""

from __future__ import annotations

import json
import mimetypes
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
    limit: Annotated[int, typer.Option(min=1, max=100)] = 50,
) -> None:
    """List documents, newest first."""
    params: dict[str, Any] = {"limit": limit}
    if subject:
        params["subject_id"] = subject
    with _client(url, api_key) as client:
        page = _check(client.get("/v1/documents", params=params))
    for doc in page["data"]:
        files = ", ".join(f"{f['id']} {f['filename'] or ''}" for f in doc["files"]) or "-"
        typer.echo(f"{doc['id']}  {doc['type']:<18} {doc['name'] or '':<30} files: {files}")


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
