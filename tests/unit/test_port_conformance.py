"""Every adapter matches its port, method by method: the same names, parameters (kind,
default and annotation) and return annotation. mypy checks most adapters where the
composition root hands them to ``AppContext``; it cannot check the repositories, which are
synchronous classes the store runs as coroutines (``unit_of_work._Async``), so a repository that
drifted from its protocol would fail only when the drifted method is called."""

from __future__ import annotations

import inspect
from typing import Any, get_type_hints

import pytest

from kycvault.adapters.blobstore_local import LocalBlobReader, LocalBlobStore, LocalBlobWriter
from kycvault.adapters.blobstore_s3 import S3BlobReader, S3BlobStore, S3BlobWriter
from kycvault.adapters.clamav import ClamdScanner, ClamdStream
from kycvault.adapters.crypto import AesGcmCipher, FrameOpener, FrameSealer
from kycvault.adapters.db.store import SqlStore, SqlUnitOfWork
from kycvault.adapters.master_keys import CommandKeyProvider, FileKeyProvider, GivenKeyProvider
from kycvault.adapters.reading.reader import SubprocessReader
from kycvault.adapters.signatures import Secp256k1Verifier
from kycvault.adapters.sniffing import FiletypeSniffer, StreamMarkupScan
from kycvault.ports.cipher import Cipher, Opener, Sealer
from kycvault.ports.master_key import MasterKeyProvider
from kycvault.ports.persistence.store import Store, UnitOfWork
from kycvault.ports.reading import DocumentReader
from kycvault.ports.scanning import MalwareScanner, ScanStream
from kycvault.ports.signatures import SignatureVerifier
from kycvault.ports.sniffing import MarkupScan, Sniffer
from kycvault.ports.storage import BlobReader, BlobStore, BlobWriter

ADAPTERS: list[tuple[type, type]] = [
    (BlobStore, LocalBlobStore),
    (BlobWriter, LocalBlobWriter),
    (BlobReader, LocalBlobReader),
    (BlobStore, S3BlobStore),
    (BlobWriter, S3BlobWriter),
    (BlobReader, S3BlobReader),
    (Cipher, AesGcmCipher),
    (Sealer, FrameSealer),
    (Opener, FrameOpener),
    (Sniffer, FiletypeSniffer),
    (MarkupScan, StreamMarkupScan),
    (MalwareScanner, ClamdScanner),
    (ScanStream, ClamdStream),
    (SignatureVerifier, Secp256k1Verifier),
    (DocumentReader, SubprocessReader),
    (Store, SqlStore),
    (UnitOfWork, SqlUnitOfWork),
    (MasterKeyProvider, FileKeyProvider),
    (MasterKeyProvider, GivenKeyProvider),
    (MasterKeyProvider, CommandKeyProvider),
]


def _methods(protocol: type) -> dict[str, Any]:
    """The protocol's own methods (not its properties, not ``Protocol``'s machinery)."""
    return {
        name: member
        for klass in protocol.__mro__
        if klass.__dict__.get("_is_protocol")
        for name, member in vars(klass).items()
        if inspect.isfunction(member) and not name.startswith("__")
    }


def _signature(function: Any) -> inspect.Signature:
    """With its annotations evaluated, so that an alias and what it names are equal."""
    try:
        return inspect.signature(function, eval_str=True)
    except NameError:  # a name imported only for type checking: compare the text
        return inspect.signature(function)


def _shape(signature: inspect.Signature) -> list[tuple[str, Any, Any, Any]]:
    return [(p.name, p.kind, p.default, p.annotation) for p in signature.parameters.values()]


def _differences(protocol: type, adapter: type, *, runs_in_thread: bool = False) -> list[str]:
    """How ``adapter`` differs from ``protocol``. With ``runs_in_thread`` the adapter's
    methods are plain functions that the store awaits for the protocol's coroutines."""
    problems = []
    for name, wanted in sorted(_methods(protocol).items()):
        given = getattr(adapter, name, None)
        if given is None:
            problems.append(f"{adapter.__name__}.{name} is missing")
            continue
        if runs_in_thread:
            if not inspect.iscoroutinefunction(wanted) or inspect.iscoroutinefunction(given):
                problems.append(f"{adapter.__name__}.{name}: a plain function for a coroutine")
        elif inspect.iscoroutinefunction(wanted) != inspect.iscoroutinefunction(given):
            problems.append(f"{adapter.__name__}.{name}: async in one and not the other")
        want, give = _signature(wanted), _signature(given)
        if _shape(want) != _shape(give):
            problems.append(f"{adapter.__name__}.{name}{give} is not {name}{want}")
        elif runs_in_thread and want.return_annotation != give.return_annotation:
            problems.append(f"{adapter.__name__}.{name} returns {give.return_annotation}")
        if getattr(given, "deferrable", False) and want.return_annotation not in (None, "None"):
            problems.append(f"{adapter.__name__}.{name} is deferred but must answer")
    return problems


@pytest.mark.parametrize(
    ("protocol", "adapter"), ADAPTERS, ids=[adapter.__name__ for _, adapter in ADAPTERS]
)
def test_adapter_matches_its_port(protocol: type, adapter: type) -> None:
    assert _differences(protocol, adapter) == []


def _repositories() -> list[tuple[str, type, type]]:
    """Each property of ``UnitOfWork``: its protocol and the class ``SqlUnitOfWork`` runs."""
    uow = SqlUnitOfWork(conn=None)  # type: ignore[arg-type]  # only its wiring is read
    properties = [name for name, member in vars(UnitOfWork).items() if isinstance(member, property)]
    return [
        (name, get_type_hints(getattr(UnitOfWork, name).fget)["return"], getattr(uow, name))
        for name in properties
    ]


REPOSITORIES = _repositories()


def test_every_repository_is_wired() -> None:
    assert len(REPOSITORIES) == 22
    for name, _, wired in REPOSITORIES:
        assert isinstance(getattr(wired, "repository", None), type), name


@pytest.mark.parametrize(
    ("name", "protocol", "wired"), REPOSITORIES, ids=[name for name, _, _ in REPOSITORIES]
)
def test_repository_matches_its_protocol(name: str, protocol: type, wired: Any) -> None:
    assert _differences(protocol, wired.repository, runs_in_thread=True) == []


class _Drifted:
    """A repository that went its own way, to show that the checks see it."""

    def add(self, tenant: object) -> None: ...

    async def get(self, tenant_id: object) -> None: ...

    def get_by_name(self, label: str) -> None: ...


def test_drift_is_found() -> None:
    from kycvault.ports.persistence.repositories import TenantRepository

    problems = _differences(TenantRepository, _Drifted, runs_in_thread=True)
    assert "_Drifted.get: a plain function for a coroutine" in problems
    assert "_Drifted.next_number is missing" in problems
    assert any(p.startswith("_Drifted.get_by_name(self, label:") for p in problems)
    assert any(p.startswith("_Drifted.add(") for p in problems)  # the annotation differs
