"""Shared helpers of the retention tests (``test_retention*.py``)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, time
from typing import Any
from uuid import UUID

import httpx2

from kycvault.services import retention_purge
from kycvault.services.context import AppContext
from tests.helpers import Server


def set_rule(client: httpx2.Client, doc_type: str, basis: str, period: str) -> dict[str, Any]:
    response = client.put(
        f"/v1/retention-rules/{doc_type}", json={"basis": basis, "period": period}
    )
    assert response.status_code == 200, response.text
    rule: dict[str, Any] = response.json()
    return rule


def end_relationship(client: httpx2.Client, subject_id: str, on: str | None) -> None:
    response = client.post(f"/v1/subjects/{subject_id}/relationship-end", json={"ended_on": on})
    assert response.status_code == 200, response.text
    assert response.json() == {"subject_id": subject_id, "ended_on": on}


def purge(server: Server, tenant: dict[str, Any], on: date | None = None) -> int:
    """One purge of the tenant's documents, as the scan would on ``on`` (today by default),
    with the vault's clock moved to that day."""

    async def work(ctx: AppContext) -> int:
        day = on or datetime.now(UTC).date()
        noon = datetime.combine(day, time(12), UTC)
        moved = dataclasses.replace(ctx, clock=lambda: noon)
        return await retention_purge.scan_tenant(moved, UUID(str(tenant["tenant_id"])), noon)

    return server.in_context(work)


def exists(client: httpx2.Client, doc_id: str) -> bool:
    status = client.get(f"/v1/documents/{doc_id}").status_code
    assert status in (200, 404)
    return status == 200
