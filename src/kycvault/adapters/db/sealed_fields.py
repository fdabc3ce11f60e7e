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
- ``subjects.details_sealed``: what the client says of the person or company (JSON of
  ``display_name``, ``external_id`` and ``metadata``, those given); AAD the subject id; null
  when none is. ``subjects.external_id_index``: the blind index of ``external_id`` (exact,
  as given: the lookups by a vendor's user id compare it so), unique per tenant.
- ``documents.metadata_sealed``: the document's free-form ``metadata`` (JSON); AAD the
  document id; null when empty.
- ``documents.review_reason_sealed``: the free text of the document's current review (it
  may name people); AAD the document id; null when there is none.
- ``events.external_id_sealed``: the subject's ``external_id`` an event's snapshot carries
  (``data.subject.external_id`` is stored null); AAD the event id.
- ``console_users.totp_sealed`` and ``totp_pending_sealed``: a console user's TOTP secret
  and the one being enrolled (base32); AAD the user id; null when there is none.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Mapping
from datetime import date
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
SUBJECT_DETAILS = "subject/details"
DOCUMENT_METADATA = "document/metadata"
EVENT_EXTERNAL_ID = "event/external-id"
REVIEW_REASON = "document/review-reason"
TOTP = "user/totp"
TOTP_PENDING = "user/totp-pending"
NUMBER_INDEX = "document-number"
CONTENT_INDEX = "file-content"
EXTERNAL_ID_INDEX = "subject-external-id"
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
        return self.open_id_number(tenant_id, row["id"], row["id_number_sealed"])

    # The ``open_…`` forms take the row's values themselves: what builds entities from rows
    # read by position (``document_rows.py``) has no mapping to hand.
    def open_id_number(
        self, tenant_id: UUID, document_id: UUID, sealed: bytes | None
    ) -> str | None:
        return self._open_text(tenant_id, ID_NUMBER, sealed, document_id)

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
        return self.open_processing(
            tenant_id, row["id"], row["processing"], row["processing_sealed"]
        )

    def open_processing(
        self,
        tenant_id: UUID,
        document_id: UUID,
        clear_part: Mapping[str, Any] | None,
        sealed: bytes | None,
    ) -> Processing:
        if sealed is None:
            return Processing.of(clear_part)  # it copies what it keeps: no copy needed here
        clear = dict(clear_part or {})
        aad = _processing_aad(document_id, clear)
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
        return self.open_sha256(tenant_id, row["id"], row["sha256_sealed"])

    def open_sha256(self, tenant_id: UUID, file_id: UUID, sealed: bytes) -> str:
        return self._codec.open(
            self._conn, tenant_id, SHA256, bytes(sealed), file_id.bytes
        ).decode()

    def external_id_index(self, tenant_id: UUID, external_id: str | None) -> str | None:
        if external_id is None:
            return None
        return self._codec.index(self._conn, tenant_id, EXTERNAL_ID_INDEX, external_id)

    def subject_values(
        self,
        tenant_id: UUID,
        subject_id: UUID,
        *,
        display_name: str | None,
        external_id: str | None,
        metadata: Mapping[str, Any],
        birth_date: date | None = None,
    ) -> dict[str, Any]:
        details: dict[str, Any] = {}
        if birth_date is not None:
            details["birth_date"] = birth_date.isoformat()
        if display_name is not None:
            details["display_name"] = display_name
        if external_id is not None:
            details["external_id"] = external_id
        if metadata:
            details["metadata"] = metadata
        return {
            "details_sealed": self._seal_json(tenant_id, SUBJECT_DETAILS, details, subject_id),
            "external_id_index": self.external_id_index(tenant_id, external_id),
        }

    def subject_details(self, tenant_id: UUID, row: RowMapping) -> dict[str, Any]:
        """``display_name``, ``external_id``, ``metadata`` and ``birth_date`` of a subject's
        row."""
        details: dict[str, Any] = {"display_name": None, "external_id": None, "metadata": {}}
        opened = self._open_json(tenant_id, SUBJECT_DETAILS, row["details_sealed"], row["id"])
        details.update(opened or {})
        born = details.get("birth_date")
        details["birth_date"] = date.fromisoformat(born) if born else None
        return details

    def metadata_values(
        self, tenant_id: UUID, document_id: UUID, metadata: Mapping[str, Any]
    ) -> dict[str, Any]:
        sealed = self._seal_json(tenant_id, DOCUMENT_METADATA, metadata, document_id)
        return {"metadata_sealed": sealed}

    def metadata(self, tenant_id: UUID, row: RowMapping) -> dict[str, Any]:
        return self.open_metadata(tenant_id, row["id"], row["metadata_sealed"])

    def open_metadata(
        self, tenant_id: UUID, document_id: UUID, sealed: bytes | None
    ) -> dict[str, Any]:
        opened = self._open_json(tenant_id, DOCUMENT_METADATA, sealed, document_id)
        return dict(opened or {})

    def review_reason_values(
        self, tenant_id: UUID, document_id: UUID, reason: str | None
    ) -> dict[str, Any]:
        sealed = None
        if reason is not None:
            sealed = self._codec.seal(
                self._conn, tenant_id, REVIEW_REASON, reason.encode(), document_id.bytes
            )
        return {"review_reason_sealed": sealed}

    def review_reason(self, tenant_id: UUID, row: RowMapping) -> str | None:
        return self.open_review_reason(tenant_id, row["id"], row["review_reason_sealed"])

    def open_review_reason(
        self, tenant_id: UUID, document_id: UUID, sealed: bytes | None
    ) -> str | None:
        return self._open_text(tenant_id, REVIEW_REASON, sealed, document_id)

    def event_values(
        self, tenant_id: UUID, event_id: UUID, data: Mapping[str, Any]
    ) -> dict[str, Any]:
        """The clear ``data`` (its subject's ``external_id`` nulled) and that id sealed."""
        subject = data.get("subject")
        external_id = subject.get("external_id") if isinstance(subject, Mapping) else None
        if external_id is None:
            return {"data": data, "external_id_sealed": None}
        clear = {**data, "subject": {**subject, "external_id": None}}  # type: ignore[dict-item]
        sealed = self._codec.seal(
            self._conn, tenant_id, EVENT_EXTERNAL_ID, str(external_id).encode(), event_id.bytes
        )
        return {"data": clear, "external_id_sealed": sealed}

    def event_data(self, tenant_id: UUID, row: RowMapping) -> dict[str, Any]:
        data = dict(row["data"] or {})
        sealed = row["external_id_sealed"]
        if sealed is not None:
            opened = self._codec.open(
                self._conn, tenant_id, EVENT_EXTERNAL_ID, bytes(sealed), row["id"].bytes
            )
            data["subject"] = {**data["subject"], "external_id": opened.decode()}
        return data

    def totp_values(
        self, tenant_id: UUID, user_id: UUID, *, secret: str | None, pending: str | None
    ) -> dict[str, Any]:
        return {
            "totp_sealed": self._seal_text(tenant_id, TOTP, secret, user_id),
            "totp_pending_sealed": self._seal_text(tenant_id, TOTP_PENDING, pending, user_id),
        }

    def totp_secrets(self, tenant_id: UUID, row: RowMapping) -> tuple[str | None, str | None]:
        """(the enrolled secret, the one being enrolled) of a console user's row."""
        return (
            self._open_text(tenant_id, TOTP, row["totp_sealed"], row["id"]),
            self._open_text(tenant_id, TOTP_PENDING, row["totp_pending_sealed"], row["id"]),
        )

    def _seal_text(
        self, tenant_id: UUID, label: str, value: str | None, row_id: UUID
    ) -> bytes | None:
        if value is None:
            return None
        return self._codec.seal(self._conn, tenant_id, label, value.encode(), row_id.bytes)

    def _open_text(
        self, tenant_id: UUID, label: str, sealed: bytes | None, row_id: UUID
    ) -> str | None:
        if sealed is None:
            return None
        return self._codec.open(self._conn, tenant_id, label, bytes(sealed), row_id.bytes).decode()

    def _seal_json(
        self, tenant_id: UUID, label: str, value: Mapping[str, Any], row_id: UUID
    ) -> bytes | None:
        """``value`` as JSON, sealed; None when it is empty (nothing to hide, nothing to open
        on every read)."""
        if not value:
            return None
        data = json.dumps(value, separators=(",", ":")).encode()
        return self._codec.seal(self._conn, tenant_id, label, data, row_id.bytes)

    def _open_json(
        self, tenant_id: UUID, label: str, sealed: bytes | None, row_id: UUID
    ) -> dict[str, Any] | None:
        if sealed is None:
            return None
        opened: dict[str, Any] = json.loads(
            self._codec.open(self._conn, tenant_id, label, bytes(sealed), row_id.bytes)
        )
        return opened


def migration_fields(attributes: Mapping[str, Any] | None, conn: sa.Connection) -> RowFields | None:
    """The codec a migrating process gave (attribute ``field_codec``) on the migration's
    connection, or None when it gave none (then there must be no rows to seal or open)."""
    codec = (attributes or {}).get("field_codec")
    return RowFields(codec, conn) if isinstance(codec, FieldCodec) else None


def needed(fields: RowFields | None) -> RowFields:
    if fields is None:
        raise RuntimeError("rows to seal or open, and no field codec given to the migration")
    return fields


def _processing_aad(document_id: UUID, clear: Mapping[str, Any]) -> bytes:
    return document_id.bytes + struct.pack(">q", int(clear.get("generation") or 0))
