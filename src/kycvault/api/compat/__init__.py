"""Vendor dialects under /compat/<vendor>: each translates one vendor's wire format onto the
same services as the native API, and no rule lives here. Each is described by its
``Dialect`` (``kycvault.api.dialects``); ``create_app`` installs the ones listed here."""

from __future__ import annotations

from kycvault.api.compat import argyle, cynopsis, kycgenie, ncore, sila
from kycvault.api.dialects import Dialect

DIALECTS: tuple[Dialect, ...] = (
    argyle.DIALECT,
    cynopsis.DIALECT,
    kycgenie.DIALECT,
    ncore.DIALECT,
    sila.DIALECT,
)
