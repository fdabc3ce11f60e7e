"""Cynopsis Artemis customer documents, under ``/compat/cynopsis``: wire format only.

``customerId`` and ``documentId`` are the per-tenant integer numbers of a subject and a
document. ``front`` and ``back`` are the document type's two file roles (FRONT/BACK for
cards, PAGE1/PAGE2 for a passport). ``X-Domain-ID`` must be the key's tenant's domain id.
Errors use Spring Boot's body (``timestamp, status, error, message, path``) plus our
stable ``code``.
"""

from __future__ import annotations

from kycvault.api.compat.cynopsis import routes, wire
from kycvault.api.dialects import BASIC, BEARER, HONOURED, Dialect, DialectSpec

DIALECT = Dialect(
    title="Cynopsis",
    prefix=wire.PREFIX,
    aliases=wire.ALIASES,
    router=routes.router,
    envelope=wire.error_response,
    auth="The native Bearer or Basic credentials, with `X-Domain-ID` naming the key's tenant.",
    idempotency=HONOURED,
    spec=DialectSpec(
        schemes={"bearerAuth": BEARER, "basicAuth": BASIC, "domainId": wire.DOMAIN_ID},
        security=[{"bearerAuth": [], "domainId": []}, {"basicAuth": [], "domainId": []}],
        error_name="CynopsisError",
        error_schemas={"CynopsisError": wire.ERROR_SCHEMA},
    ),
    upload_limits=routes.narrow_limits,
)
