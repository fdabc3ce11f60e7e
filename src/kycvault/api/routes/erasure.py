"""POST /v1/subjects/{id}/erasure (the rules are in ``services/erasure.py``)."""

from __future__ import annotations

from datetime import date
from uuid import UUID

from fastapi import APIRouter, Response
from pydantic import BaseModel

from kycvault.api.deps import ActorDep, ContextDep
from kycvault.api.idempotency import Once, Written, json_response
from kycvault.api.routing import CheckedRoute
from kycvault.services import erasure

router = APIRouter(tags=["compliance"], route_class=CheckedRoute)


class ErasedOut(BaseModel):
    document_id: UUID
    files: int


class KeptOut(BaseModel):
    document_id: UUID
    basis: str
    until: date | None


class ErasureOut(BaseModel):
    subject_id: UUID
    erased: list[ErasedOut]
    kept: list[KeptOut]
    subject_erased: bool
    keys_destroyed: int


@router.post("/v1/subjects/{subject_id}/erasure", response_model=ErasureOut)
async def erase_subject(subject_id: UUID, ctx: ContextDep, actor: ActorDep, once: Once) -> Response:
    """Erase everything of the subject that no retention period or legal hold protects, and
    destroy the keys of what went (crypto-shredding). Needs ``documents:delete`` and
    ``subjects:write``."""

    async def write() -> Written:
        done = await erasure.erase_subject(ctx, actor, subject_id)
        out = ErasureOut(
            subject_id=subject_id,
            erased=[ErasedOut(document_id=d.id, files=len(d.files)) for d in done.erased],
            kept=[KeptOut.model_validate(k, from_attributes=True) for k in done.kept],
            subject_erased=done.subject_erased,
            keys_destroyed=done.keys_destroyed,
        )
        return Written(json_response(out), subject_id)

    return await once(actor, write)
