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

from kycvault.api.compat.kycgenie import documents, entities, errors, questionnaires
from kycvault.api.compat.kycgenie.common import PREFIX
from kycvault.api.problems import ENVELOPES
from kycvault.api.routing import CheckedRoute

router = APIRouter(prefix=PREFIX, tags=["compat: KYC Genie"], route_class=CheckedRoute)
for module in (documents, entities, questionnaires):
    router.include_router(module.router)

ENVELOPES[PREFIX] = errors.error_response
