"""Cynopsis Artemis's documents as they travel: the ``document`` part, the answer (with
``java.sql.Timestamp`` times) and Spring Boot's error body."""

from __future__ import annotations

from datetime import UTC, date, datetime
from http import HTTPStatus
from typing import Any, Literal

from fastapi import Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from kycvault.api.client_input import load_json
from kycvault.api.compat.shared import CalendarDate
from kycvault.api.dialects import Aliases
from kycvault.api.problems import Fault, validation_errors
from kycvault.domain.types import Authenticity
from kycvault.errors import FieldError, InvalidInput

PREFIX = "/compat/cynopsis"
ALIASES = Aliases("cynopsis")
DEFAULT_TYPE = "OTHERS"


ERROR_SCHEMA: dict[str, Any] = {
    "title": "CynopsisError",
    "type": "object",
    "description": "Spring Boot's error body, with the vault's stable `code`.",
    "required": ["timestamp", "status", "error", "message", "path", "code"],
    "properties": {
        "timestamp": {"type": "string", "format": "date-time"},
        "status": {"type": "integer"},
        "error": {"type": "string", "description": "the status's phrase"},
        "message": {"type": "string"},
        "path": {"type": "string"},
        "code": {"type": "string"},
    },
}
DOMAIN_ID: dict[str, Any] = {
    "type": "apiKey",
    "in": "header",
    "name": "X-Domain-ID",
    "description": "The domain id (number) of the API key's tenant; another is a 403 "
    "`domain_mismatch`.",
}


def error_response(request: Request, fault: Fault) -> Response:
    body = {
        "timestamp": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "status": fault.status,
        "error": HTTPStatus(fault.status).phrase,
        "message": fault.detail,
        "path": request.url.path,
        "code": fault.code,
    }
    return JSONResponse(body, status_code=fault.status)


DocType = Literal["NATIONAL_ID", "PASSPORT", "DRIVING_LICENSE", "OTHERS"]


class CynopsisDocument(BaseModel):
    """The ``document`` JSON part."""

    model_config = ConfigDict(extra="ignore")

    type: DocType
    number: str | None = Field(default=None, max_length=64)
    authenticity: Authenticity | None = None
    issueDate: CalendarDate = None
    expiryDate: CalendarDate = None
    showExpiryNotification: bool = False

    def values(self) -> dict[str, Any]:
        return {
            "id_number": self.number,
            "authenticity": self.authenticity,
            "issue_date": self.issueDate,
            "expiry_date": self.expiryDate,
            "notify_before_expiry": self.showExpiryNotification,
        }


def parse_document(fields: dict[str, list[str]]) -> CynopsisDocument:
    raw = fields.get("document")
    if not raw:
        raise InvalidInput.field("document", "required", "send the document JSON part")
    try:
        return CynopsisDocument.model_validate(
            load_json(raw[-1], field="document", syntax_code="invalid_document")
        )
    except ValidationError as exc:
        listed = [
            FieldError(f"document.{e.field}", e.code, e.message) for e in validation_errors(exc)
        ]
        detail = "; ".join(f"{e.field}: {e.message}" for e in listed[:5])
        raise InvalidInput(detail, code="invalid_document", errors=listed) from None


class UserInfo(BaseModel):
    id: int | None
    email: str | None
    firstName: str | None
    lastName: str | None
    fullName: str | None


def user_info(key_id: str | None) -> UserInfo | None:
    if key_id is None:
        return None
    return UserInfo(id=None, email=None, firstName=None, lastName=None, fullName=key_id)


class Timestamp(BaseModel):
    """``java.sql.Timestamp`` as Jackson writes it (UTC: ``timezoneOffset`` 0)."""

    date: int
    day: int
    hours: int
    minutes: int
    month: int
    nanos: int
    seconds: int
    time: int
    timezoneOffset: int
    year: int

    @classmethod
    def of(cls, at: datetime) -> Timestamp:
        at = at.astimezone(UTC)
        return cls(
            date=at.day,
            day=(at.weekday() + 1) % 7,  # Sunday is 0
            hours=at.hour,
            minutes=at.minute,
            month=at.month - 1,
            nanos=at.microsecond * 1000,
            seconds=at.second,
            time=int(at.timestamp() * 1000),
            timezoneOffset=0,
            year=at.year - 1900,
        )


class CynopsisDocumentOut(BaseModel):
    id: int
    customerId: int
    parentCustomerId: int | None
    type: str
    number: str | None
    authenticity: str | None
    issueDate: date | None
    expiryDate: date | None
    showExpiryNotification: bool
    front: str | None
    frontName: str | None
    back: str | None
    backName: str | None
    particular: dict[str, Any]
    parentParticular: dict[str, Any]
    assignees: list[UserInfo]
    createdAt: Timestamp
    updatedAt: Timestamp
    createdBy: UserInfo | None
    updatedBy: UserInfo | None


SIDES = ("front", "back")  # the slots of the type's role list (``revisions.revise_document``)
