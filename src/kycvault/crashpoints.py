"""Named steps at which a crash test can make the process kill itself (SIGKILL), to check what
a crash at exactly that step leaves behind: ``KYCVAULT_CRASHPOINT=upload.published`` (or
several, comma-separated, or ``by-request``). Nothing is armed in a normal run, and then
``reached`` returns at once: the points cost nothing where nobody tests them.

The points, in the order an upload passes them: ``upload.mid_body`` (a file's first batch
written to staging), ``upload.staged`` (a file's staging durable), ``upload.published``
(every file of the request moved into place), ``document.create.before_commit`` /
``files.add.before_commit`` (rows written, not committed), ``document.create.after_commit`` /
``files.add.after_commit`` (committed, no response sent); a deletion's
``document.delete.before_commit`` and ``document.delete.after_commit`` (rows gone, blobs not
yet removed); the retention purge's ``retention.purge.before_commit`` and
``retention.purge.after_commit`` (a document's rows and receipt committed, its blobs queued
for removal and not yet removed); an import's ``import.blobs_published`` (blobs in place, no
rows) and ``import.rows_committed`` (rows in, master key not yet written);
``idempotency.claimed`` (a key claimed, the request not yet run); ``rotate_master.row_rewrapped``
(one row re-wrapped under the new master key and committed, the others not); a subject's
re-keying after a deletion (``services/subject_rekey.py``): ``subject.rekey.key_made`` (a new
generation stored, the older ones retired, no file re-wrapped) and
``subject.rekey.batch_committed`` (a batch of files re-wrapped and committed, the older
generations not yet destroyed).
"""

from __future__ import annotations

import os
import signal
from contextvars import ContextVar

# ``KYCVAULT_CRASHPOINT=by-request`` lets each request name its own points in the
# ``X-Crashpoint`` header instead (a crash test then needs no restart to arm the next one).
BY_REQUEST = "by-request"
HEADER = "x-crashpoint"

_armed: frozenset[str] = frozenset()
_by_request = False
_requested: ContextVar[frozenset[str]] = ContextVar("kycvault_crashpoints", default=frozenset())


def _names(value: str) -> frozenset[str]:
    return frozenset(name.strip() for name in value.split(",") if name.strip())


def arm(names: str) -> None:
    """Arm the comma-separated points (the ``crashpoint`` setting; empty: none)."""
    global _armed, _by_request
    _by_request = names.strip() == BY_REQUEST
    _armed = frozenset() if _by_request else _names(names)


def arm_request(header: str | None) -> None:
    """Arm the points a request names, in its own context (only in ``by-request`` mode)."""
    if _by_request and header:
        _requested.set(_names(header))


def armed(name: str) -> bool:
    return name in _armed or (_by_request and name in _requested.get())


def reached(name: str) -> None:
    """Kill this process now if ``name`` is armed."""
    if (_armed or _by_request) and armed(name):
        os.kill(os.getpid(), signal.SIGKILL)
