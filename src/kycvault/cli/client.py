"""Client commands: talk to a running server over its HTTP API through the Python client
(``kycvault.client``): ``--url``, ``--api-key`` or ``KYCVAULT_URL``, ``KYCVAULT_API_KEY``."""

from __future__ import annotations

import itertools
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from kycvault.cli.progress import bar

if TYPE_CHECKING:
    from kycvault.client import Client, Document

Url = Annotated[str, typer.Option("--url", envvar="KYCVAULT_URL", help="Base URL of the server.")]
ApiKey = Annotated[
    str, typer.Option("--api-key", envvar="KYCVAULT_API_KEY", help="API key (kvk_….…).")
]


@contextmanager
def _client(url: str, api_key: str) -> Iterator[Client]:
    """A client of the server; what fails is one line on stderr and exit status 1."""
    from kycvault.client import APIStatusError, Client, KycVaultError

    try:
        with Client(url, api_key=api_key) as client:
            yield client
    except APIStatusError as exc:
        typer.echo(f"error {exc.status}: {exc.detail} ({exc.code})", err=True)
        raise typer.Exit(1) from None
    except KycVaultError as exc:
        typer.echo(f"error: {exc.detail} ({exc.code})", err=True)
        raise typer.Exit(1) from None


def _json(documents: list[Document]) -> str:
    return json.dumps([d.model_dump(mode="json") for d in documents], indent=2)


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
    from kycvault.client import Upload

    roles = role or []
    if len(roles) > len(files):
        typer.echo(f"error: {len(roles)} --role for {len(files)} file(s)", err=True)
        raise typer.Exit(2)
    uploads = [
        Upload(path, role=given)
        for path, given in itertools.zip_longest(files, roles[: len(files)])
    ]
    with _client(url, api_key) as client, bar("uploading") as advance:
        doc = client.documents.create(
            type=doc_type, subject_id=subject, name=name, files=uploads, progress=advance
        )
    typer.echo(json.dumps(doc.model_dump(mode="json"), indent=2))


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
    from kycvault.client.resources.documents import DocumentFilters

    filters: DocumentFilters = {"limit": min(limit, 100)}
    if subject:
        filters["subject_id"] = subject
    if doc_type:
        filters["type"] = doc_type
    if review_status:
        filters["review_status"] = review_status
    with _client(url, api_key) as client:
        found = list(itertools.islice(client.documents.list(**filters), limit))
    if as_json:
        typer.echo(_json(found))
        return
    _table(found)


def _table(documents: list[Document]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(box=None, pad_edge=False)
    table.add_column("id", no_wrap=True, min_width=36)  # whole, to copy into the next command
    for heading in ("type", "name", "review", "expires"):
        table.add_column(heading)
    table.add_column("files", no_wrap=True)
    for doc in documents:
        files = ", ".join(f"{f.id} {f.filename or ''}".strip() for f in doc.files)
        table.add_row(
            str(doc.id),
            doc.type,
            doc.name or "",
            doc.review.status,
            doc.expiry_date.isoformat() if doc.expiry_date else "",
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
    """Download one file of a document, with a progress bar."""
    with _client(url, api_key) as client, bar("downloading") as advance:
        client.files.download(document_id, file_id, output, progress=advance)
    typer.echo(f"wrote {output}")
