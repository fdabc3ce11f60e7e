"""Every row of the vault as JSON Lines, one file per table, and back: the database half of
``kycvault export`` / ``kycvault import`` (the service moves the blobs).

Values are written in a portable form (UUIDs and datetimes as text, bytes as base64), read
back by each column's type, so SQLite and PostgreSQL exchange vaults either way. Rows go in
batches, so memory stays bounded however large the vault is. Derived data (the search index)
is rebuilt by the target's own triggers and indexes.
"""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from kycvault.adapters.db.tables import UtcDateTime, metadata

_BATCH = 1000


def _tables() -> list[sa.Table]:
    # Parents before children (foreign keys); a table's own parent column is set afterwards.
    return list(metadata.sorted_tables)


def _encode(value: Any) -> Any:
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, date):  # datetimes too
        return value.isoformat()
    if isinstance(value, bytes | memoryview):
        return base64.b64encode(bytes(value)).decode()
    return value


def _decoder(column: sa.Column[Any]) -> Any:
    kind = column.type
    if isinstance(kind, sa.Uuid):
        return uuid.UUID
    if isinstance(kind, UtcDateTime):
        return datetime.fromisoformat
    if isinstance(kind, sa.Date):
        return date.fromisoformat
    if isinstance(kind, sa.LargeBinary):
        return base64.b64decode
    return None


def dump(conn: sa.Connection, directory: Path) -> dict[str, dict[str, Any]]:
    """Write every table to ``directory/<table>.jsonl``; per table its row count and the
    SHA-256 of the file."""
    directory.mkdir(parents=True, exist_ok=True)
    summary: dict[str, dict[str, Any]] = {}
    for table in _tables():
        digest, rows = hashlib.sha256(), 0
        key = [table.c[c.name] for c in table.primary_key.columns]
        with (directory / f"{table.name}.jsonl").open("wb") as out:
            result = conn.execution_options(yield_per=_BATCH).execute(
                sa.select(table).order_by(*key)
            )
            for row in result.mappings():
                line = json.dumps({k: _encode(v) for k, v in row.items()}).encode() + b"\n"
                digest.update(line)
                out.write(line)
                rows += 1
        summary[table.name] = {"rows": rows, "sha256": digest.hexdigest()}
    return summary


def _read(path: Path, table: sa.Table, expected: dict[str, Any]) -> Iterator[dict[str, Any]]:
    decoders = {c.name: _decoder(c) for c in table.columns}
    digest, rows = hashlib.sha256(), 0
    with path.open("rb") as source:
        for line in source:
            digest.update(line)
            rows += 1
            raw = json.loads(line)
            yield {
                name: (decoders[name](value) if value is not None and decoders[name] else value)
                for name, value in raw.items()
            }
    if rows != expected["rows"] or digest.hexdigest() != expected["sha256"]:
        raise ValueError(f"{path.name} does not match the manifest (changed or truncated)")


# The vault's own keys: an empty vault has its root already (made with its schema); an import
# replaces it with the export's, which everything imported was derived from.
_REPLACED = "vault_keys"


def is_empty(conn: sa.Connection) -> bool:
    return all(
        conn.execute(sa.select(sa.literal(1)).select_from(table).limit(1)).first() is None
        for table in _tables()
        if table.name != _REPLACED
    )


def exported_rows(directory: Path, name: str) -> Iterator[dict[str, Any]]:
    """The rows of one exported table, decoded (unchecked: ``load`` checks every file)."""
    table = metadata.tables[name]
    decoders = {c.name: _decoder(c) for c in table.columns}
    with (directory / f"{name}.jsonl").open("rb") as source:
        for line in source:
            yield {
                key: (decoders[key](value) if value is not None and decoders[key] else value)
                for key, value in json.loads(line).items()
            }


def load(conn: sa.Connection, directory: Path, summary: dict[str, dict[str, Any]]) -> None:
    """Insert every exported row (into an empty schema at the same revision)."""
    for table in _tables():
        if table.name not in summary:
            raise ValueError(f"the export has no {table.name} table")
        if table.name == _REPLACED:
            conn.execute(table.delete())
        own = [
            fk.parent.name for fk in table.foreign_keys if fk.column.table is table
        ]  # e.g. subjects.parent_id
        later: list[dict[str, Any]] = []
        batch: list[dict[str, Any]] = []
        for row in _read(directory / f"{table.name}.jsonl", table, summary[table.name]):
            if any(row.get(name) is not None for name in own):
                later.append({name: row[name] for name in (*own, "id")})
                row = {**row, **dict.fromkeys(own)}
            batch.append(row)
            if len(batch) >= _BATCH:
                conn.execute(table.insert(), batch)
                batch = []
        if batch:
            conn.execute(table.insert(), batch)
        for links in later:
            conn.execute(
                table.update()
                .where(table.c.id == links["id"])
                .values({name: links[name] for name in own})
            )


def blob_keys(directory: Path) -> Iterator[str]:
    """The blob of every exported file, read back from the export itself."""
    with (directory / "files.jsonl").open("rb") as source:
        for line in source:
            yield str(json.loads(line)["blob_key"])
