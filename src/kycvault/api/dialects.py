"""Dialects: the vendor APIs under ``/compat/<vendor>``, each described by one ``Dialect``.

A dialect is its vendor's wire format over the native services. What differs from vendor to
vendor is stated on its ``Dialect`` and nowhere else: the path prefix, the error body
(``envelope``), the catalog's alias namespace, the upload limits (the native ones narrowed),
how callers authenticate, whether ``Idempotency-Key`` is honoured (and why not, where not),
its router, and what its OpenAPI document says of its security and its errors (``spec``;
``api.openapi`` serves the document). ``install`` registers them on an application (no
module-level registry: two applications in one process do not share one).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, FastAPI, Request

from kycvault.api import problems
from kycvault.api.multipart import UploadLimits
from kycvault.domain.catalog import Catalog, DocumentType
from kycvault.errors import UnknownDocumentType


@dataclass(frozen=True, slots=True)
class KeyPolicy:
    """Whether a dialect's writes honour ``Idempotency-Key``, and why."""

    honoured: bool
    reason: str


HONOURED = KeyPolicy(True, "as on the native API")


@dataclass(frozen=True, slots=True)
class Aliases:
    """A dialect's names for the catalog's document types (``DocumentType.aliases[name]``)."""

    name: str

    def catalog_type(self, catalog: Catalog, alias: str, *, field: str = "type") -> DocumentType:
        """The type the vendor's ``alias`` names; any other is ``unknown_document_type``."""
        doc_type = catalog.by_alias(self.name, alias)
        if doc_type is None:
            raise UnknownDocumentType(alias, field=field)
        return doc_type

    def of(self, catalog: Catalog, type_name: str) -> str | None:
        """The vendor's name for the catalog type named ``type_name`` (None: it has none)."""
        return self.of_type(catalog.get(type_name))

    def of_type(self, doc_type: DocumentType | None) -> str | None:
        return doc_type.alias(self.name) if doc_type else None


Schema = dict[str, Any]
# The OpenAPI security schemes of the native credentials, which every dialect takes too.
BEARER: Schema = {
    "type": "http",
    "scheme": "bearer",
    "description": "An API key, `kvk_<id>.<secret>` (`kycvault admin create-key`).",
}
BASIC: Schema = {
    "type": "http",
    "scheme": "basic",
    "description": "The API key's id as the user name and its secret as the password.",
}
NATIVE_SCHEMES: Mapping[str, Schema] = {"bearerAuth": BEARER, "basicAuth": BASIC}


@dataclass(frozen=True, slots=True)
class DialectSpec:
    """What a dialect's OpenAPI document states besides its routes: how callers
    authenticate (``schemes``, and the alternatives an operation accepts, ``security``),
    its error body (``error_name`` among ``error_schemas``), and the operations (route
    names) that need no credentials."""

    schemes: Mapping[str, Schema]
    security: list[dict[str, list[str]]]
    error_name: str
    error_schemas: Mapping[str, Schema]
    public: frozenset[str] = frozenset()


def same_limits(native: UploadLimits) -> UploadLimits:
    return native


@dataclass(frozen=True, slots=True)
class Dialect:
    title: str  # the vendor, as the OpenAPI tag names it
    prefix: str
    aliases: Aliases | None  # None: the vendor names types by free labels, not aliases
    router: APIRouter
    envelope: problems.Envelope
    auth: str  # how callers authenticate, in a sentence
    idempotency: KeyPolicy
    spec: DialectSpec
    # The vendor's upload limits from the native ones (part names, file count, body size).
    upload_limits: Callable[[UploadLimits], UploadLimits] = same_limits

    @property
    def tag(self) -> str:
        return f"compat: {self.title}"

    @property
    def description(self) -> str:
        keys = "honoured" if self.idempotency.honoured else "not honoured"
        return (
            f"Under `{self.prefix}`. {self.auth} "
            f"`Idempotency-Key`: {keys}, {self.idempotency.reason}."
        )

    def owns(self, path: str) -> bool:
        return problems.under(self.prefix, path)


@dataclass(frozen=True, slots=True)
class Registry:
    """The dialects an application serves, and each one's upload limits."""

    native_limits: UploadLimits
    dialects: tuple[Dialect, ...]
    limits: dict[str, UploadLimits] = field(default_factory=dict)

    def dialect_of(self, path: str) -> Dialect | None:
        return next((d for d in self.dialects if d.owns(path)), None)


def install(app: FastAPI, dialects: Sequence[Dialect], native_limits: UploadLimits) -> None:
    """Serve ``dialects`` on ``app``: their routers, error bodies and limits (their OpenAPI
    documents are ``api.openapi``'s)."""
    registry = Registry(
        native_limits,
        tuple(dialects),
        {d.prefix: d.upload_limits(native_limits) for d in dialects},
    )
    app.state.dialects = registry
    for dialect in dialects:
        problems.use_envelope(app, dialect.prefix, dialect.envelope)
        app.include_router(dialect.router, prefix=dialect.prefix, tags=[dialect.tag])


def registry(request: Request) -> Registry:
    installed = getattr(request.app.state, "dialects", None)
    if not isinstance(installed, Registry):
        raise RuntimeError("no dialects installed on this application (see dialects.install)")
    return installed


def dialect_of(request: Request) -> Dialect | None:
    """The dialect whose prefix the request's path is under (None: the native API)."""
    return registry(request).dialect_of(request.url.path)


def upload_limits(request: Request) -> UploadLimits:
    """The upload limits of the route's API: its dialect's, or the native ones."""
    installed = registry(request)
    dialect = installed.dialect_of(request.url.path)
    return installed.limits[dialect.prefix] if dialect else installed.native_limits


def honours_key(request: Request) -> bool:
    dialect = dialect_of(request)
    return dialect is None or dialect.idempotency.honoured
