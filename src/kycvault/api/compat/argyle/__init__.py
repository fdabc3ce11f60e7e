"""Argyle's user uploads API, under ``/compat/argyle``: wire format only.

A user is a subject (its id, or its ``external_id`` for Argyle's own user ids); an upload
is a document of that subject with one file, of one of Argyle's six document types (the
catalog's ``argyle`` aliases). Processing statuses and results are the worker's, read off
the document; ``file_url`` is a stable URL that redirects to the file, both behind the
tenant's credentials (HTTP Basic ``key_id:key_secret``, as Argyle's ``api_key_id`` and
``api_key_secret``).
"""

from __future__ import annotations

from fastapi import APIRouter

from kycvault.api.compat.argyle import errors, uploads
from kycvault.api.compat.argyle.uploads import PREFIX
from kycvault.api.problems import ENVELOPES
from kycvault.api.routing import CheckedRoute

router = APIRouter(prefix=PREFIX, tags=["compat: Argyle"], route_class=CheckedRoute)
router.include_router(uploads.router)

ENVELOPES[PREFIX] = errors.error_response
