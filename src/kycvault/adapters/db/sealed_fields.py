"""Which columns of documents and files are sealed, with what AAD, and their blind indexes
(``field_codec.py`` has the keys and the format). Used by the repositories on every write
and read of those rows, and by migration 0018, which seals what earlier versions stored in
clear.

- ``documents.id_number_sealed``: the declared document number; AAD the document id.
  ``documents.id_number_index``: its blind index (normalised: upper case, letters and
  digits only, as the duplicate-number signal compares numbers).
- ``documents.processing_sealed``: what processing found (``extracted`` with the MRZ,
  ``classification``, ``signals``); AAD the document id and the processing generation, so
  an older result copied over a newer state fails to open (a whole row rolled back with
  its clear ``processing`` still opens: there is no freshness anchor outside the database).
  ``documents.processing`` keeps the rest in clear (stage statuses, generation, score).
  ``documents.extracted_number_index``: the blind index of the MRZ's document number.
- ``files.sha256_sealed``: the SHA-256 of the file's content; AAD the file id.
  ``files.content_index``: its blind index, for duplicate detection and the ETag.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Mapping
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy import RowMapping

from kycvault.adapters.db.field_codec import FieldCodec
from kycvault.domain.authenticity import normalise_number
from kycvault.domain.processing import Processing

ID_NUMBER = "document/id-number"
PROCESSING = "document/processing"
SHA256 = "file/sha256"
NUMBER_INDEX = "document-number"
CONTENT_INDEX = "file-content"
# What of a document's processing is sealed: everything that may hold personal data.
SEALED_PROCESSING = ("extracted", "classification", "signals")


class RowFields:
    """The codec bound to one connection, with the row layout of each sealed column."""

    def __init__(self, codec: FieldCodec, conn: sa.Connection) -> None:
        self._codec = codec
        self._conn = conn

    def number_index(self, tenant_id: UUID, number: str | None) -> str | None:
        normalised = normalise_number(number)
        if not normalised:
            return None
        return self._codec.index(self._conn, tenant_id, NUMBER_INDEX, normalised)

    def content_index(self, tenant_id: UUID, sha256: str) -> str:
        return self._codec.index(self._conn, tenant_id, CONTENT_INDEX, sha256.lower())

    def id_number_values(
        self, tenant_id: UUID, document_id: UUID, id_number: str | None
    ) -> dict[str, Any]:
        sealed = None
        if id_number is not None:
            sealed = self._codec.seal(
                self._conn, tenant_id, ID_NUMBER, id_number.encode(), document_id.bytes
            )
        return {
            "id_number_sealed": sealed,
            "id_number_index": self.number_index(tenant_id, id_number),
        }

    def id_number(self, tenant_id: UUID, row: RowMapping) -> str | None:
        sealed = row["id_number_sealed"]
        if sealed is None:
            return None
        opened = self._codec.open(self._conn, tenant_id, ID_NUMBER, bytes(sealed), row["id"].bytes)
        return opened.decode()

    def processing_values(
        self, tenant_id: UUID, document_id: UUID, processing: Mapping[str, Any]
    ) -> dict[str, Any]:
        """The clear ``processing`` column and the sealed rest (None when there is none)."""
        clear = {k: v for k, v in processing.items() if k not in SEALED_PROCESSING}
        private = {k: processing[k] for k in SEALED_PROCESSING if processing.get(k)}
        sealed = None
        if private:
            data = json.dumps(private, separators=(",", ":"), sort_keys=True).encode()
            aad = _processing_aad(document_id, clear)
            sealed = self._codec.seal(self._conn, tenant_id, PROCESSING, data, aad)
        return {"processing": clear, "processing_sealed": sealed}

    def processing(self, tenant_id: UUID, row: RowMapping) -> Processing:
        clear = dict(row["processing"] or {})
        sealed = row["processing_sealed"]
        if sealed is not None:
            aad = _processing_aad(row["id"], clear)
            opened = self._codec.open(self._conn, tenant_id, PROCESSING, bytes(sealed), aad)
            clear.update(json.loads(opened))
        return Processing.of(clear)

    def file_values(self, tenant_id: UUID, file_id: UUID, sha256: str) -> dict[str, Any]:
        return {
            "sha256_sealed": self._codec.seal(
                self._conn, tenant_id, SHA256, sha256.encode(), file_id.bytes
            ),
            "content_index": self.content_index(tenant_id, sha256),
        }

    def sha256(self, tenant_id: UUID, row: RowMapping) -> str:
        opened = self._codec.open(
            self._conn, tenant_id, SHA256, bytes(row["sha256_sealed"]), row["id"].bytes
        )
        return opened.decode()


def _processing_aad(document_id: UUID, clear: Mapping[str, Any]) -> bytes:
    return document_id.bytes + struct.pack(">q", int(clear.get("generation") or 0))
