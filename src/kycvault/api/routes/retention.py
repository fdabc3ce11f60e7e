"""/v1/retention-rules, a subject's relationship end and /v1/deletion-receipts (the rules
are in ``services/retention.py``; the purge in ``services/retention_purge.py``)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from kycvault.api.deps import ActorDep, ContextDep, JsonBody
from kycvault.api.idempotency import Once, Written, json_response
from kycvault.api.routing import CheckedRoute
from kycvault.api.schemas import IsoDate, PageOut
from kycvault.ports.persistence.retention import DeletionReceipt, RetentionRule
from kycvault.services import retention

router = APIRouter(tags=["retention"], route_class=CheckedRoute)
RULES = "/v1/retention-rules"
RECEIPTS = "/v1/deletion-receipts"


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid", str_max_length=100)


class RetentionRuleIn(_Input):
    basis: str = Field(description="relationship_end, upload or expiry")
    period: str = Field(description='ISO 8601 years, months, days: "P5Y", "P6M", "P0D"')


class RetentionRuleOut(BaseModel):
    document_type: str
    basis: str
    period: str
    updated_at: datetime
    updated_by: str | None

    @classmethod
    def of(cls, rule: RetentionRule) -> RetentionRuleOut:
        return cls(
            document_type=rule.document_type,
            basis=rule.basis,
            period=rule.period,
            updated_at=rule.updated_at,
            updated_by=rule.updated_by,
        )


class RelationshipEndIn(_Input):
    ended_on: IsoDate | None


class RelationshipEndOut(BaseModel):
    subject_id: UUID
    ended_on: date | None


class ReceiptFileOut(BaseModel):
    file_id: UUID
    sha256: str


class DeletionReceiptOut(BaseModel):
    id: UUID
    document_id: UUID
    subject_id: UUID | None
    document_type: str
    basis: str
    period: str
    retain_until: date
    purged_at: datetime
    files: list[ReceiptFileOut]

    @classmethod
    def of(cls, receipt: DeletionReceipt) -> DeletionReceiptOut:
        return cls(
            id=receipt.id,
            document_id=receipt.document_id,
            subject_id=receipt.subject_id,
            document_type=receipt.document_type,
            basis=receipt.basis,
            period=receipt.period,
            retain_until=receipt.retain_until,
            purged_at=receipt.purged_at,
            files=[ReceiptFileOut(file_id=f.file_id, sha256=f.sha256) for f in receipt.files],
        )


@router.put(RULES + "/{document_type}", response_model=RetentionRuleOut, dependencies=[JsonBody])
async def set_rule(
    document_type: str, body: RetentionRuleIn, ctx: ContextDep, actor: ActorDep, once: Once
) -> Response:
    """Keep documents of the type for ``period`` after ``basis``, then purge them. Needs
    ``admin``."""

    async def write() -> Written:
        rule = await retention.set_rule(
            ctx, actor, document_type, basis=body.basis, period=body.period
        )
        return Written(json_response(RetentionRuleOut.of(rule)))

    return await once(actor, write)


@router.get(RULES, response_model=list[RetentionRuleOut])
async def list_rules(ctx: ContextDep, actor: ActorDep) -> list[RetentionRuleOut]:
    """Every rule of the tenant; documents of a type without one are kept forever."""
    return [RetentionRuleOut.of(r) for r in await retention.list_rules(ctx, actor)]


@router.delete(RULES + "/{document_type}", status_code=204)
async def remove_rule(document_type: str, ctx: ContextDep, actor: ActorDep, once: Once) -> Response:
    """Keep documents of the type forever again. Needs ``admin``."""

    async def write() -> Written:
        await retention.remove_rule(ctx, actor, document_type)
        return Written(Response(status_code=204))

    return await once(actor, write)


@router.post(
    "/v1/subjects/{subject_id}/relationship-end",
    response_model=RelationshipEndOut,
    dependencies=[JsonBody],
)
async def set_relationship_end(
    subject_id: UUID, body: RelationshipEndIn, ctx: ContextDep, actor: ActorDep, once: Once
) -> Response:
    """The day the business relationship with the subject ended (null clears it): the
    basis of ``relationship_end`` rules. Needs ``subjects:write``."""

    async def write() -> Written:
        ended = await retention.set_relationship_end(ctx, actor, subject_id, body.ended_on)
        out = RelationshipEndOut(subject_id=subject_id, ended_on=ended)
        return Written(json_response(out), subject_id)

    return await once(actor, write)


@router.get(
    RECEIPTS,
    response_model=PageOut[DeletionReceiptOut],
)
async def list_receipts(
    ctx: ContextDep,
    actor: ActorDep,
    limit: Annotated[int | None, Query(ge=1, le=100)] = None,
    cursor: Annotated[str | None, Query(max_length=1024)] = None,
) -> PageOut[DeletionReceiptOut]:
    """What the retention purge deleted, newest first: the document, its rule, when, and the
    SHA-256 of each of its files. Needs ``audit:read``."""
    page = await retention.list_receipts(ctx, actor, limit=limit, cursor=cursor)
    return PageOut.of(page, [DeletionReceiptOut.of(r) for r in page.items])
