"""Rules for the files attached to a document, shared by document creation and file upload:
roles allowed by the type, client-sent digests, and the rows recorded for staged files."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

from kycvault.domain.catalog import DocumentType
from kycvault.domain.models import StoredFile
from kycvault.domain.types import FileRole
from kycvault.errors import FieldError, InvalidInput, UnprocessableContent
from kycvault.services.context import Actor
from kycvault.services.intake import StagedFile


def check_per_file(staged: Sequence[StagedFile], values: Sequence[object], field: str) -> None:
    if values and len(values) != len(staged):
        raise InvalidInput.field(field, "count_mismatch", f"give one {field} per file, in order")


def check_roles(
    doc_type: DocumentType, roles: Sequence[FileRole | None], *, field: str = "role"
) -> None:
    for index, role in enumerate(roles):
        if not doc_type.allows_role(role):
            allowed = ", ".join(doc_type.roles) or "none"
            raise InvalidInput.field(
                f"{field}.{index}" if len(roles) > 1 else field,
                "role_not_allowed",
                f"role {role} is not allowed for type {doc_type.name} (allowed: {allowed})",
            )


def check_client_hashes(staged: Sequence[StagedFile], hashes: Sequence[str | None]) -> None:
    """Verify client-sent SHA-256 digests (Sila style); a mismatch stores nothing."""
    check_per_file(staged, hashes, "sha256")
    for index, (item, expected) in enumerate(zip(staged, hashes, strict=False)):
        if expected is not None and expected.strip().lower() != item.sha256:
            field = f"sha256.{index}" if len(staged) > 1 else "sha256"
            raise UnprocessableContent(
                f"{field}: the file's SHA-256 does not match the digest sent",
                code="checksum_mismatch",
                errors=[FieldError(field, "checksum_mismatch", "digest does not match")],
            )


def stored_files(
    actor: Actor,
    document_id: UUID,
    staged: Sequence[StagedFile],
    roles: Sequence[FileRole | None],
    now: datetime,
    first_position: int = 0,
) -> list[StoredFile]:
    return [
        StoredFile(
            id=item.id,
            tenant_id=actor.tenant_id,
            document_id=document_id,
            position=first_position + index,
            role=roles[index] if index < len(roles) else None,
            filename=item.filename,
            content_type=item.content_type,
            size=item.size,
            sha256=item.sha256,
            blob_key=item.blob_key,
            wrapped_dek=item.wrapped_dek,
            kek_id=item.kek_id,
            subject_key_id=item.subject_key_id,
            created_at=now,
            created_by=actor.key_id,
        )
        for index, item in enumerate(staged)
    ]
