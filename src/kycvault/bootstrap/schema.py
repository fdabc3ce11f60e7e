"""Opening a wired vault: the schema brought to (or checked at) the newest migration, the
master key checked against the keys the vault holds, the vault's root secret loaded, and a new
vault's new key file written."""

from __future__ import annotations

import dataclasses

import structlog

from kycvault.adapters.db import migrate
from kycvault.adapters.key_files import write_master_key_file
from kycvault.bootstrap.container import (
    Container,
    MasterKey,
    NoVault,
    SchemaNotCurrent,
    StartupRefused,
    vault_place,
)
from kycvault.errors import IntegrityFailure
from kycvault.services import audit, vault_keys

log = structlog.get_logger("kycvault.bootstrap")


async def prepare_schema(container: Container, *, upgrade: bool, create: bool = True) -> None:
    """Upgrade the schema to the newest migration, or check that it is there already; refuse
    a database that does not keep what it acknowledges, a missing vault (without
    ``create``) and a master key that is not the vault's; then write a new vault's new key."""
    unsafe = await container.store.durability_problems()
    if unsafe:
        raise StartupRefused(
            "the database may lose acknowledged writes: "
            + "; ".join(unsafe)
            + " (documents are written once and must survive a crash)"
        )
    current = await migrate.current_revision(container.store.database)
    if current is None and not create:
        raise NoVault(
            f"no vault in the database {safe_url(container.settings.resolved_database_url)} "
            "(no kycvault schema there): run `kycvault migrate` to make one"
        )
    if current is not None:
        # Before the schema changes: a migration may seal data with keys derived from it.
        await _check_master_key(container)
    if upgrade:
        attributes: dict[str, object] = {}
        if not await migrate.has_table(container.store.database, "vault_keys"):
            attributes["vault_root"] = _first_root(container, existing=current is not None)
        else:
            await open_vault(container)
        attributes["audit_chain_key"] = audit.chain_key(container.ctx)
        attributes["field_codec"] = container.store.fields
        await migrate.upgrade(container.store.database, attributes=attributes)
    elif current != migrate.head_revision():
        raise SchemaNotCurrent(
            f"the database schema is at {current or 'nothing'}, not at the newest migration: "
            "run `kycvault migrate`"
        )
    if current is None:
        await _check_master_key(container)
    # The root as stored (another process may have made the vault's first one).
    await open_vault(container)
    if container.settings.keystore_shares_database:
        # Erasure still deletes everything, but a backup of the database holds the subject
        # keys too, so restoring one would make erased blobs readable again.
        log.warning(
            "keystore_shares_database",
            advice="set KYCVAULT_KEYSTORE_URL to a database backed up apart, with a short "
            "retention, for erasure to shred backups too",
        )
    master = container.master_key
    if master is not None and master.new_file is not None:
        try:
            write_master_key_file(master.new_file, master.key)
        except OSError as exc:
            raise StartupRefused(
                f"cannot create the master key file {master.new_file}: {exc.strerror}"
            ) from None
        container.master_key = MasterKey(master.key, master.source)
        log.warning(
            "master_key_created",
            path=str(master.new_file),
            advice="this key decrypts every stored document: back it up, keep it apart from "
            "the data, and in production supply KYCVAULT_MASTER_KEY from a secret store",
        )


def _first_root(container: Container, *, existing: bool) -> dict[str, object]:
    """The root secret the migration that makes ``vault_keys`` stores, in use from now on:
    for a vault made before it, the master key's own bytes, which every derived key came
    from until now (they all stay as they were); for a new vault, a random one."""
    cipher, master = container.ctx.cipher, container.master_key
    secret = master.key if existing and master is not None else cipher.new_root_secret()
    cipher.use_root(secret)
    return dataclasses.asdict(vault_keys.new_root(cipher, secret, container.ctx.clock()))


async def open_vault(container: Container) -> None:
    """Load the vault's root secret (what derived keys come from) into the container's
    cipher: done by ``prepare_schema``; a container built beside a running vault, on a schema
    already current, calls this instead."""
    try:
        await vault_keys.load_root(container.ctx)
    except IntegrityFailure as exc:
        if exc.code == "master_key_mismatch" and await container.store.holds_nothing():
            # Nothing was derived from the root of this empty vault: it takes a new one
            # under the key it is started with (as its first tenant's key will be).
            await vault_keys.replace_root(container.ctx)
            return
        raise StartupRefused(f"{exc.detail} ({exc.code})") from None


async def _check_master_key(container: Container) -> None:
    """Refuse a master key that did not wrap the vault's keys: started on it, the vault
    would answer 401 to every valid API key. A vault without tenants has nothing to compare
    with; its first tenant binds it to the key in use (``open_vault`` gives it a new root)."""
    master = container.master_key
    if master is None:
        return
    accepted = container.ctx.cipher.master_key_ids
    counts = await container.store.wrap_counts()
    others: dict[str, int] = {}
    for (table, key_id), n in counts.items():
        if key_id not in accepted and (table == "tenant_keys" or _has_tenant_keys(counts)):
            others[key_id] = others.get(key_id, 0) + n
    if not others:
        return
    theirs = ", ".join(sorted(others))
    if master.new_file is not None:
        raise StartupRefused(
            f"no master key for the vault in {vault_place(container.settings)}: "
            f"{master.new_file} is missing and KYCVAULT_MASTER_KEY is not set, and its data is "
            f"under master key {theirs} (restore that key file, or give the key in "
            "KYCVAULT_MASTER_KEY)"
        )
    raise StartupRefused(
        f"the master key from {master.source} (id {master.id}) is not this vault's: "
        f"{sum(others.values())} keys are wrapped under master key {theirs}; "
        "start with the vault's own key, or during a rotation with both "
        "(KYCVAULT_PREVIOUS_MASTER_KEY_FILES) (master_key_mismatch)"
    )


def _has_tenant_keys(counts: dict[tuple[str, str], int]) -> bool:
    return any(table == "tenant_keys" for table, _ in counts)


def safe_url(url: str) -> str:
    scheme, sep, rest = url.partition("://")
    if "@" in rest:
        rest = "***@" + rest.split("@", 1)[1]
    return scheme + sep + rest
