"""What processing concludes about a document beyond reading it: the authenticity
assessment (``domain/authenticity.py``) on what was read, the document and its subject; and
the empty fields a zone read without doubt fills (``domain/zone_fields.py``), written in the
transaction that stores the results, audited and announced as the worker's changes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from kycvault.domain import authenticity, zone_fields
from kycvault.domain.classification import Classification
from kycvault.domain.models import Document, Subject
from kycvault.domain.mrz import MrzResult
from kycvault.domain.processing import Processing
from kycvault.domain.types import SubjectType
from kycvault.domain.viz import Printed
from kycvault.ports.persistence.store import UnitOfWork
from kycvault.ports.reading import FileReading
from kycvault.services import audit, events
from kycvault.services.context import Actor, AppContext


async def _duplicates(
    ctx: AppContext, document: Document, mrz: MrzResult | None
) -> tuple[int, int]:
    numbers = [
        document.id_number or "",
        authenticity.normalise_number(document.id_number),
        authenticity.normalise_number(mrz.document_number) if mrz else "",
    ]
    async with ctx.store.read() as uow:
        same_file = await uow.documents.holders_of_file(
            document.tenant_id, [f.sha256 for f in document.files], document.subject_id
        )
        same_number = await uow.documents.holders_of_number(
            document.tenant_id, numbers, document.subject_id
        )
    return same_file, same_number


def _derived_before(document: Document, subject: Subject | None) -> dict[str, str]:
    """The fields an earlier run filled from the zone that still hold what it filled."""
    marks = document.processing.extracted.get("derived")
    return zone_fields.still_derived(marks or {}, document, subject)


async def assess(
    ctx: AppContext,
    document: Document,
    subject: Subject | None,
    readings: Sequence[FileReading],
    mrz: MrzResult | None,
    classified: Classification | None,
    type_agrees: bool,
    printed: Printed | None = None,
) -> authenticity.Assessment:
    if not readings:
        return authenticity.unreadable()
    same_file, same_number = await _duplicates(ctx, document, mrz)
    person = subject if subject is not None and subject.type is SubjectType.INDIVIDUAL else None
    roles = [f.role.value if f.role else None for f in document.files]
    return authenticity.assess(
        authenticity.Facts(
            today=ctx.clock().date(),
            declared_number=document.id_number,
            declared_expiry=document.expiry_date,
            declared_country=document.issuing_country,
            mrz=mrz,
            traces=[r.traces for r in readings],
            same_file_elsewhere=same_file,
            same_number_elsewhere=same_number,
            declared_type=document.type,
            classified_type=classified.type if classified else None,
            type_agrees=type_agrees,
            subject_name=person.display_name if person else None,
            subject_birth_date=person.birth_date if person else None,
            derived=frozenset(_derived_before(document, subject)),
            zone_expected=authenticity.zone_expected(document.type, roles),
            portrait_expected=authenticity.portrait_expected(document.type),
            printed=printed,
            portraits=[
                page.portrait for r in readings for page in r.pages if page.portrait is not None
            ],
        )
    )


async def subject_of(uow: UnitOfWork, document: Document) -> Subject | None:
    if document.subject_id is None:
        return None
    return await uow.subjects.get(document.tenant_id, document.subject_id)


async def fill_from_zone(
    ctx: AppContext,
    uow: UnitOfWork,
    document: Document,
    mrz: MrzResult | None,
    result: Processing,
) -> Document:
    """Fill the empty fields a zone read without doubt gives (``domain/zone_fields.py``),
    in the transaction that stores the results, audited and announced as the worker's
    changes; and remember in the results which fields hold what the zone gave."""
    subject = await subject_of(uow, document)
    kept = _derived_before(document, subject)
    filled = zone_fields.fill(mrz, document, subject)
    worker = Actor(document.tenant_id, "worker")
    now = ctx.clock()
    if filled.document:
        document = replace(document, **filled.document, updated_at=now)
        await uow.documents.update(document)
        changed = sorted(filled.document)
        await audit.record(
            ctx, uow, worker, "document.updated", target_type="document",
            target_id=document.id, subject_id=document.subject_id, fields=changed,
            source="machine_readable_zone",
        )  # fmt: skip
        data = {**events.document_snapshot(document), "changed": changed, "derived": True}
        await events.record(ctx, uow, worker, events.DOCUMENT_UPDATED, data)
    if subject is not None and filled.subject_birth_date is not None:
        subject = replace(subject, birth_date=filled.subject_birth_date, updated_at=now)
        await uow.subjects.update(subject)
        await audit.record(
            ctx, uow, worker, "subject.updated", target_type="subject", target_id=subject.id,
            fields=["birth_date"], source="machine_readable_zone",
        )  # fmt: skip
        data = {**events.subject_snapshot(subject), "changed": ["birth_date"], "derived": True}
        await events.record(ctx, uow, worker, events.SUBJECT_UPDATED, data)
    derived = {**kept, **filled.marks()}
    if derived and result.extracted:
        result.extracted["derived"] = derived
    return document
