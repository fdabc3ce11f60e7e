"""Composition root: settings in, a wired ``Container`` out (``container.py``), then the vault
opened on it (``schema.py``). The only place that knows which adapter implements which port."""

from kycvault.bootstrap.container import (
    Container,
    MasterKey,
    NoVault,
    SchemaNotCurrent,
    StartupRefused,
    build_blob_store,
    build_container,
    build_reader,
    build_scanner,
    create_master_key_file,
    private_paths,
    resolve_master_key,
    sweep_grace,
)
from kycvault.bootstrap.schema import open_vault, prepare_schema, safe_url
from kycvault.bootstrap.tracing import start_tracing

__all__ = [
    "Container",
    "MasterKey",
    "NoVault",
    "SchemaNotCurrent",
    "StartupRefused",
    "build_blob_store",
    "build_container",
    "build_reader",
    "build_scanner",
    "create_master_key_file",
    "open_vault",
    "prepare_schema",
    "private_paths",
    "resolve_master_key",
    "safe_url",
    "start_tracing",
    "sweep_grace",
]
