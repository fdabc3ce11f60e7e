"""Routers of the native API (``/v1``) and the operational endpoints."""
