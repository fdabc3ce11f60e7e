"""/v1/subjects"""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Response

from kycvault.api.deps import ActorDep, JsonBody, VaultDep
from kycvault.api.schemas import PageOut, SubjectCreate, SubjectOut, SubjectPatch
from kycvault.services import subjects

router = APIRouter(prefix="/v1/subjects", tags=["subjects"])


@router.post("", status_code=201, response_model=SubjectOut, dependencies=[JsonBody])
async def create_subject(
    body: SubjectCreate, vault: VaultDep, actor: ActorDep, response: Response
) -> SubjectOut:
    subject = await subjects.create_subject(vault, actor, body.model_dump(exclude_unset=True))
    response.headers["location"] = f"/v1/subjects/{subject.id}"
    return SubjectOut.of(subject)


@router.get("", response_model=PageOut[SubjectOut])
async def list_subjects(
    vault: VaultDep,
    actor: ActorDep,
    limit: Annotated[int | None, Query(ge=1, le=100)] = None,
    cursor: Annotated[str | None, Query(max_length=1024)] = None,
) -> PageOut[SubjectOut]:
    page = await subjects.list_subjects(vault, actor, limit=limit, cursor=cursor)
    return PageOut.of(page, [SubjectOut.of(s) for s in page.items])


@router.get("/{subject_id}", response_model=SubjectOut)
async def get_subject(subject_id: UUID, vault: VaultDep, actor: ActorDep) -> SubjectOut:
    return SubjectOut.of(await subjects.get_subject(vault, actor, subject_id))


@router.patch("/{subject_id}", response_model=SubjectOut, dependencies=[JsonBody])
async def update_subject(
    subject_id: UUID, body: SubjectPatch, vault: VaultDep, actor: ActorDep
) -> SubjectOut:
    changes = body.model_dump(exclude_unset=True)
    return SubjectOut.of(await subjects.update_subject(vault, actor, subject_id, changes))


@router.delete("/{subject_id}", status_code=204)
async def delete_subject(subject_id: UUID, vault: VaultDep, actor: ActorDep) -> Response:
    await subjects.delete_subject(vault, actor, subject_id)
    return Response(status_code=204)
