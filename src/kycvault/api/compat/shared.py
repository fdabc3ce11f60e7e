"""What the dialects share besides their ``Dialect``: ids in paths, a subject's document,
and dates that vendors send as date-times."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Annotated, Any
from uuid import UUID

from pydantic import BeforeValidator, WithJsonSchema

from kycvault.api.body_specs import LENIENT_JSON_DATE
from kycvault.domain.models import Document
from kycvault.domain.scopes import Scope
from kycvault.errors import NotFound
from kycvault.services import documents
from kycvault.services.context import Actor, AppContext


def path_id(value: str, not_found: Callable[[], NotFound]) -> UUID:
    """A UUID from the path; anything else names nothing (the 404 of an unknown id)."""
    try:
        return UUID(value)
    except ValueError:
        raise not_found() from None


async def subjects_document(
    ctx: AppContext,
    actor: Actor,
    document_id: UUID,
    subject_id: UUID,
    *,
    scope: Scope = Scope.DOCUMENTS_READ,
) -> Document:
    """The subject's document; another subject's, or one of no subject, is not found.
    ``scope``: what the route does with it (``documents.get_document``)."""
    doc = await documents.get_document(ctx, actor, document_id, scope=scope)
    if doc.subject_id != subject_id:
        raise documents.document_not_found()
    return doc


def date_part(value: Any) -> Any:
    # Vendors send date-times ("2021-09-20T10:10:40.182Z") where the document keeps a date.
    if isinstance(value, str) and "T" in value:
        return value.split("T", 1)[0]
    return value


# A calendar date, given as a date or as a date-time.
CalendarDate = Annotated[
    date | None,
    BeforeValidator(date_part),
    WithJsonSchema(
        {
            "anyOf": [
                *LENIENT_JSON_DATE["anyOf"],
                {
                    "type": "string",
                    "pattern": "^[^T]*T",
                    "description": "a date-time: the date before its `T` is kept",
                },
                {"type": "null"},
            ]
        }
    ),
]
