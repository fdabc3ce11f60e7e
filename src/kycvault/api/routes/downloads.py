"""/v1/downloads/{token}: redeem a single-use link (no authentication: the token is it)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from kycvault.api.deps import ContextDep
from kycvault.api.file_serving import FILE_RESPONSES, head_response, stream_response
from kycvault.api.routing import CheckedRoute
from kycvault.services import downloads

router = APIRouter(prefix="/v1/downloads", tags=["files"], route_class=CheckedRoute)


_USED: dict[int | str, dict[str, Any]] = {
    410: {"description": "The link was used already, or has expired. Codes: `gone`."}
}


@router.api_route(
    "/{token}",
    methods=["GET", "HEAD"],
    response_class=Response,
    responses={**FILE_RESPONSES, **_USED},
)
async def redeem_download_link(token: str, request: Request, ctx: ContextDep) -> Response:
    """Serve the file once. ``HEAD`` shows its headers without using the link up."""
    if request.method == "HEAD":
        return head_response(await downloads.peek(ctx, token), "attachment")
    content = await downloads.redeem(ctx, token, request_id=request.state.request_id)
    return await stream_response(request, content, "attachment")
