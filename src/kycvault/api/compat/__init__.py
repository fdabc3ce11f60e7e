"""Vendor dialects under /compat/<vendor>: each translates one vendor's wire format onto the
same services as the native API, and no rule lives here."""
