"""Expiry notifications' part of the persistence port: the documents a scan looks at, the
marks that make each notification happen once, and the rows of the expiring report.

A mark is keyed by (document, expiry date, threshold) and unique: the scan that inserts it
records the event in the same transaction, and a concurrent scan that tries the same mark
finds it taken and records nothing. Keying by the expiry date re-arms every threshold when
the date changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol
from uuid import UUID


@dataclass(frozen=True, slots=True)
class ExpiringDocument:
    """A document a scan or the report looks at; ``number`` and the declared ``id_number``
    only in the detailed report (the scan needs neither)."""

    id: UUID
    subject_id: UUID | None
    type: str
    expiry_date: date
    number: int | None = None
    id_number: str | None = None


@dataclass(frozen=True, slots=True)
class ExpiringSubject:
    """A subject of the expiring report and its documents, soonest expiry first."""

    id: UUID
    external_id: str | None
    documents: list[ExpiringDocument]
    display_name: str | None = None


class ExpiryNotificationRepository(Protocol):
    async def unnotified(
        self,
        tenant_id: UUID,
        first: date,
        last: date,
        threshold: int,
        after: tuple[date, UUID] | None,
        limit: int,
    ) -> list[ExpiringDocument]:
        """Documents of the tenant to be told of their expiry, expiring from ``first`` to
        ``last``, whose mark for ``threshold`` at their expiry date is not taken; keyset-paged
        on (expiry date, id) after ``after``."""
        ...

    async def mark(
        self,
        tenant_id: UUID,
        document_id: UUID,
        expiry_date: date,
        threshold: int,
        at: datetime,
        told: bool,
    ) -> bool:
        """Take the mark, if the document still has that expiry date and wants to be told;
        False if it does not, or if the mark was taken already (by this or a concurrent
        scan). ``told``: whether an event is recorded with it."""
        ...

    async def forget_before(self, expiry_date: date, limit: int) -> int:
        """Remove up to ``limit`` marks of expiry dates before ``expiry_date``; how many."""
        ...

    async def expiring_subjects(
        self,
        tenant_id: UUID,
        first: date,
        last: date,
        after: UUID | None,
        limit: int,
        *,
        detailed: bool = False,
    ) -> list[ExpiringSubject]:
        """Subjects with documents expiring from ``first`` to ``last``, in id order after
        ``after``, each with those documents (``detailed``: with their numbers)."""
        ...
