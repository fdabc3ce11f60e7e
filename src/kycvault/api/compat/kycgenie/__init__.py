"""KYC Genie's documents API, v1 and v2, under ``/compat/kycgenie``: wire format only.

Tenant documents are the library (documents without a subject, ``tenant_private``); entity
documents are a subject's (``entity_private``); questionnaire responses hold file answers,
each a document of the response's entity. A document is one file. ``document_type`` is a free
label: it names a catalog type by label (or name, or alias), and an unknown label becomes a
tenant document type. Its official SDK (``kycgenie`` on PyPI) works with
``server_url="http://HOST/compat/kycgenie"``.
"""

from __future__ import annotations

from fastapi import APIRouter

from kycvault.api.compat.kycgenie import common, documents, entities, errors, questionnaires
from kycvault.api.dialects import BASIC, BEARER, HONOURED, Dialect, DialectSpec
from kycvault.api.routing import CheckedRoute

router = APIRouter(route_class=CheckedRoute)
for module in (documents, entities, questionnaires):
    router.include_router(module.router)

DIALECT = Dialect(
    title="KYC Genie",
    prefix=common.PREFIX,
    # Types are named by free labels (``services.catalog.type_for_label``), which also
    # read any dialect's alias; the catalog keeps no KYC Genie names of its own.
    aliases=None,
    router=router,
    envelope=errors.error_response,
    auth="The native Bearer or Basic credentials (the SDK sends a Bearer key).",
    idempotency=HONOURED,
    spec=DialectSpec(
        schemes={"bearerAuth": BEARER, "basicAuth": BASIC},
        security=[{"bearerAuth": []}, {"basicAuth": []}],
        error_name="KycGenieError",
        error_schemas={"KycGenieError": errors.ERROR_SCHEMA},
        public=frozenset({"redeem_download_token"}),
    ),
    upload_limits=common.narrow_limits,
)
