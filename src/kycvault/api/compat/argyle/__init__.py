"""Argyle's user uploads API, under ``/compat/argyle``: wire format only.

A user is a subject (its id, or its ``external_id`` for Argyle's own user ids); an upload
is a document of that subject with one file, of one of Argyle's six document types (the
catalog's ``argyle`` aliases). Processing statuses and results are the worker's, read off
the document; ``file_url`` is a stable URL that redirects to the file, both behind the
tenant's credentials (HTTP Basic ``key_id:key_secret``, as Argyle's ``api_key_id`` and
``api_key_secret``). Webhook subscriptions (``/v2/webhooks``) get Argyle's user-upload
events in Argyle's shape.
"""

from __future__ import annotations

from fastapi import APIRouter

from kycvault.api.compat.argyle import errors, uploads, webhooks
from kycvault.api.compat.argyle.schemas import ALIASES
from kycvault.api.dialects import BASIC, BEARER, HONOURED, Dialect, DialectSpec

router = APIRouter()
router.include_router(uploads.router)
router.include_router(webhooks.router)

DIALECT = Dialect(
    title="Argyle",
    prefix=uploads.PREFIX,
    aliases=ALIASES,
    router=router,
    envelope=errors.error_response,
    auth="HTTP Basic with the key id and secret (Argyle's `api_key_id` and `api_key_secret`), "
    "or the native Bearer key.",
    idempotency=HONOURED,
    spec=DialectSpec(
        schemes={"basicAuth": BASIC, "bearerAuth": BEARER},
        security=[{"basicAuth": []}, {"bearerAuth": []}],
        error_name="ArgyleError",
        error_schemas={"ArgyleError": errors.ERROR_SCHEMA},
    ),
    upload_limits=uploads.narrow_limits,
)
