"""The one exception tree of kycvault.

Services and adapters raise these; the HTTP layer maps them to RFC 9457 problem documents in
one place (``kycvault.api.problems``), and the CLI prints them. Every error carries a stable,
machine-readable ``code`` and a human ``detail``; input errors may carry per-field ``errors``.

    KycVaultError
     ├── InvalidInput ............ malformed or invalid request data (400)
     │    └── UnknownDocumentType  a type that is neither built in nor defined by the tenant
     ├── AuthenticationFailed .... no key, a wrong key or a revoked key (401)
     │    ├── InvalidCredentials . a console login's address, password or code is wrong
     │    ├── TotpRequired ....... a console login needs its second factor's code
     │    └── SessionExpired ..... a console login session ended, timed out, or never was
     ├── PermissionDenied ........ authenticated, but not allowed (403)
     │    ├── InsufficientScope .. the API key lacks the scope the request needs
     │    ├── UserDisabled ....... a console user who was disabled
     │    └── CsrfFailed ......... a console form without its session's CSRF token
     ├── NotFound ................ unknown id, or another tenant's id: the same answer (404)
     ├── Conflict ................ the request clashes with the current state (409)
     │    └── Protected .......... a deletion of something the vault must keep
     │         ├── LegalHoldActive  under a legal hold
     │         └── RetentionActive  within a retention rule's period
     ├── Gone .................... a single-use link already used, or expired (410)
     ├── PayloadTooLarge ......... a file or body over its limit (413)
     ├── UnsupportedMediaType .... content type outside the allow-list (415)
     ├── UnprocessableContent .... content that fails validation, e.g. a .pdf that is no PDF (422)
     │    └── MalwareDetected .... the malware scanner found something, or could not finish
     ├── TooManyRequests ......... over a rate limit; ``retry_after`` seconds to wait (429)
     ├── IntegrityFailure ........ stored data failed verification; never served (500)
     └── Unavailable ............. a dependency (database, blob store) is down (503)
          └── CommitUncertain .... the connection failed during COMMIT: stored or not, unknown

Adapters translate library exceptions into this tree at their boundary, so no SQLAlchemy or
OS error travels further up than the adapter that met it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any


@dataclass(frozen=True, slots=True)
class FieldError:
    """One problem with one input field (``field`` uses dotted paths, e.g. ``files.2``)."""

    field: str
    code: str
    message: str


class KycVaultError(Exception):
    """Base of every error kycvault raises on purpose."""

    code: str = "error"

    def __init__(
        self,
        detail: str,
        *,
        code: str | None = None,
        errors: Sequence[FieldError] = (),
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        if code is not None:
            self.code = code
        self.errors: tuple[FieldError, ...] = tuple(errors)


class InvalidInput(KycVaultError):
    code = "validation_error"

    @classmethod
    def field(cls, field: str, code: str, message: str) -> InvalidInput:
        """An error about a single field, with the field named in the detail too."""
        return cls(f"{field}: {message}", code=code, errors=[FieldError(field, code, message)])


class UnknownDocumentType(InvalidInput):
    code = "unknown_document_type"

    def __init__(self, value: str, *, field: str = "type") -> None:
        message = f"unknown document type {value!r}"
        super().__init__(f"{field}: {message}", errors=[FieldError(field, self.code, message)])
        self.value = value


class AuthenticationFailed(KycVaultError):
    code = "unauthenticated"


class InvalidCredentials(AuthenticationFailed):
    """A console login refused: the same answer for an unknown address, a wrong password
    and a wrong second-factor code."""

    code = "invalid_credentials"


class TotpRequired(AuthenticationFailed):
    """The password is right and the login needs the authenticator app's code too."""

    code = "totp_required"


class SessionExpired(AuthenticationFailed):
    """No console login session: logged out, idle or too old, or an unknown token."""

    code = "session_expired"


class PermissionDenied(KycVaultError):
    code = "forbidden"


class UserDisabled(PermissionDenied):
    code = "user_disabled"


class CsrfFailed(PermissionDenied):
    """A console form posted without the CSRF token of the session that sent it."""

    code = "csrf_failed"


class InsufficientScope(PermissionDenied):
    """The key is valid but was not given the scope this request needs (``scope``)."""

    code = "insufficient_scope"

    def __init__(self, scope: str) -> None:
        super().__init__(f"this API key lacks the scope {scope} that the request needs")
        self.scope = scope


class NotFound(KycVaultError):
    code = "not_found"


class Conflict(KycVaultError):
    code = "conflict"


class Protected(Conflict):
    """A deletion refused because the vault must keep what it would delete; ``audit_details``
    is what the refusal's audit event records about why (never names or numbers)."""

    def audit_details(self) -> dict[str, Any]:
        return {"reason": self.code}


class LegalHoldActive(Protected):
    """A deletion refused because what it would delete is under a legal hold (the active
    holds' ids in ``hold_ids``)."""

    code = "legal_hold"

    def __init__(self, detail: str, *, hold_ids: Sequence[str] = ()) -> None:
        super().__init__(detail)
        self.hold_ids = tuple(hold_ids)

    def audit_details(self) -> dict[str, Any]:
        return {"reason": self.code, "holds": list(self.hold_ids)}


class RetentionActive(Protected):
    """A deletion refused because a retention rule keeps the document until ``retain_until``
    (None: its basis date, such as the end of the relationship, is not known yet, so it is
    kept with no date), under the rule ``basis`` + ``period``."""

    code = "retention_active"

    def __init__(
        self, detail: str, *, document_id: str, retain_until: date | None, basis: str, period: str
    ) -> None:
        super().__init__(detail)
        self.document_id = document_id
        self.retain_until = retain_until
        self.basis = basis
        self.period = period

    def audit_details(self) -> dict[str, Any]:
        until = self.retain_until.isoformat() if self.retain_until else None
        return {"reason": self.code, "retain_until": until, "basis": self.basis,
                "period": self.period, "kept_document": self.document_id}  # fmt: skip


class Gone(KycVaultError):
    code = "gone"


class PayloadTooLarge(KycVaultError):
    code = "too_large"


class UnsupportedMediaType(KycVaultError):
    code = "unsupported_media_type"


class UnprocessableContent(KycVaultError):
    code = "unprocessable_content"


class MalwareDetected(UnprocessableContent):
    """An upload the malware scanner flagged (``malware_detected``) or stopped scanning at one
    of its limits (``malware_scan_incomplete``). Carries what the audit record needs; the
    client is told neither the signature nor the digest."""

    code = "malware_detected"

    def __init__(self, detail: str, *, sha256: str, signature: str, code: str | None = None):
        super().__init__(detail, code=code)
        self.sha256 = sha256
        self.signature = signature


class TooManyRequests(KycVaultError):
    code = "too_many_requests"

    def __init__(self, detail: str, *, retry_after: int, code: str | None = None) -> None:
        super().__init__(detail, code=code)
        self.retry_after = retry_after


class IntegrityFailure(KycVaultError):
    code = "integrity_error"


class Unavailable(KycVaultError):
    code = "unavailable"


class CommitUncertain(Unavailable):
    """The database connection failed while a commit was under way, so whether the change
    is stored is unknown. Nothing that the change references (its blobs) may be removed,
    and an Idempotency-Key claim is kept, so that a retry finds the stored outcome."""
