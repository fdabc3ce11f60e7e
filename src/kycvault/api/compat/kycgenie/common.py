"""What every KYC Genie route shares: the prefix, the vendor's upload limits, form fields,
and the single-use download links of ``/download/`` endpoints."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, Literal

from fastapi import Request

from kycvault.api.bodies import receive_upload
from kycvault.api.body_specs import BINARY, TEXT, body, form_content
from kycvault.api.dialects import upload_limits
from kycvault.api.multipart import UploadLimits, single_values
from kycvault.domain.models import Document, StoredFile
from kycvault.errors import InvalidInput
from kycvault.services import downloads
from kycvault.services.context import Actor, AppContext
from kycvault.services.downloads import IssuedLink
from kycvault.services.files import file_not_found
from kycvault.services.intake import UploadSession

PREFIX = "/compat/kycgenie"
V1 = "/api/v1"
V2 = "/api/v2"
Version = Literal["v1", "v2"]

# The formats KYC Genie documents, in its order (the vault's content checks apply on top).
ALLOWED_TYPES = (
    "pdf",
    "doc",
    "docx",
    "xls",
    "xlsx",
    "xlsm",
    "ppt",
    "pptx",
    "odt",
    "ods",
    "odp",
    "rtf",
    "txt",
    "csv",
    "jpg",
    "jpeg",
    "png",
    "tiff",
    "heic",
    "heif",
    "webp",
    "bmp",
)
EXTENSIONS = frozenset(ALLOWED_TYPES)
MAX_FILE_SIZE = 10 * 1024 * 1024
MAX_FILE_SIZE_TEXT = "10MB"


# The form of an upload: one ``file`` and its ``document_type`` label (``required`` as the
# route has it), and, for a file answer, the question it answers.
def upload_form(*, label_required: bool = True, question: bool = False) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "file": {**BINARY, "description": f"at most {MAX_FILE_SIZE_TEXT}, of an allowed type"},
        "document_type": {**TEXT, "description": "a label; an unknown one becomes a type"},
    }
    if question:
        fields["file_question_id"] = {"type": "integer", "description": "the file question"}
    required = ["file", "document_type"] if label_required else ["file"]
    return body(form_content(fields, required))


def version_of(request: Request) -> Version:
    return "v1" if request.url.path.startswith(PREFIX + V1 + "/") else "v2"


def form_value(fields: dict[str, list[str]], name: str) -> str | None:
    value = single_values(fields, frozenset()).get(name)
    return str(value) if value is not None and value.strip() else None


def required_value(fields: dict[str, list[str]], name: str) -> str:
    value = form_value(fields, name)
    if value is None:
        raise InvalidInput.field(name, "required", "This field is required.")
    return value


def form_int(fields: dict[str, list[str]], name: str) -> int | None:
    value = form_value(fields, name)
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        raise InvalidInput.field(name, "invalid", "A valid integer is required.") from None


def narrow_limits(native: UploadLimits) -> UploadLimits:
    return dataclasses.replace(native, max_files=1, file_fields=frozenset({"file"}))


@asynccontextmanager
async def receive(
    request: Request, ctx: AppContext, actor: Actor
) -> AsyncIterator[tuple[UploadSession, dict[str, list[str]]]]:
    """One ``file`` part within KYC Genie's limits (10 MB, its 22 extensions) and the form
    fields that come with it."""
    async with receive_upload(
        request,
        ctx,
        actor,
        upload_limits(request),
        allowed_extensions=EXTENSIONS,
        max_file_size=MAX_FILE_SIZE,
    ) as received:
        yield received


def first_file(doc: Document) -> StoredFile:
    """A KYC Genie document is one file: the first of the document's."""
    if not doc.files:
        raise file_not_found()
    return doc.files[0]


async def issue_link(ctx: AppContext, actor: Actor, doc: Document) -> IssuedLink:
    return await downloads.create_link(ctx, actor, doc.id, first_file(doc).id)


def link_url(request: Request, token: str) -> str:
    """The proxy URL of a download token, in the version the link was asked for."""
    base: str = request.app.state.public_url
    return f"{base}{PREFIX}/api/{version_of(request)}/files/{token}/"
