"""Liveness and readiness."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from kycvault.api.deps import ContextDep
from kycvault.api.routing import CheckedRoute
from kycvault.api.schemas import Health
from kycvault.errors import Unavailable
from kycvault.ports.storage import BlobStoreError
from kycvault.services import metrics

router = APIRouter(tags=["operations"], route_class=CheckedRoute)


@router.get("/healthz", response_model=Health)
async def healthz() -> Health:
    """The process is up and its event loop answers."""
    return Health(status="ok")


@router.get("/readyz", response_model=Health, responses={503: {"model": Health}})
async def readyz(ctx: ContextDep) -> JSONResponse:
    """The database and the blob store can be reached."""
    checks: dict[str, str] = {}
    try:
        await ctx.store.ping()
        checks["database"] = "ok"
    except Unavailable:
        checks["database"] = "unavailable"
    try:
        await asyncio.to_thread(ctx.blobs.check)
        checks["blob_store"] = "ok"
    except BlobStoreError:
        checks["blob_store"] = "unavailable"
    ready = all(value == "ok" for value in checks.values())
    body = Health(status="ok" if ready else "unavailable", checks=checks)
    return JSONResponse(body.model_dump(), status_code=200 if ready else 503)


@router.get("/metrics", response_class=Response)
async def metrics_text(ctx: ContextDep) -> Response:
    """This process's counters in Prometheus' text format (no tenant data), with the job
    queue's depth and oldest job's age as the database has them now."""
    await metrics.refresh_jobs(ctx)
    return Response(generate_latest(metrics.REGISTRY), media_type=CONTENT_TYPE_LATEST)
