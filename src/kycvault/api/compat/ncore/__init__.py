"""nCore (NymCard) user identifications and their files, under ``/compat/ncore``: wire format
only.

An identification is a document of the user's subject; ``user_id`` is the subject's id or
its ``external_id``. Files carry ``identification_document_type``, which is the file's role
(``PASSPORT_PAGE1`` → PAGE1, ``NATIONAL_ID_BACK`` → BACK, ``VISA`` → FRONT, ``NOT
APPLICABLE`` → none). nCore's error body is not public; ours is
``{"status", "error", "code", "message", "errors"}`` and stays stable.
"""

from __future__ import annotations

from kycvault.api.compat.ncore import routes, wire
from kycvault.api.dialects import BASIC, BEARER, HONOURED, Dialect, DialectSpec

DIALECT = Dialect(
    title="nCore",
    prefix="/compat/ncore",
    aliases=wire.ALIASES,
    router=routes.router,
    envelope=wire.error_response,
    auth="nCore's `apikey` header (an API key), or the native Bearer or Basic credentials.",
    idempotency=HONOURED,
    spec=DialectSpec(
        schemes={"apiKey": wire.API_KEY, "bearerAuth": BEARER, "basicAuth": BASIC},
        security=[{"apiKey": []}, {"bearerAuth": []}, {"basicAuth": []}],
        error_name="NcoreError",
        error_schemas={"NcoreError": wire.ERROR_SCHEMA},
    ),
    upload_limits=routes.narrow_limits,
)
