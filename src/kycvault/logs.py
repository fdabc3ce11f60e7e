"""Structured logs (structlog over the standard library).

A redaction processor removes anything that looks like a credential or a document identifier
before a line is written: API keys, bearer tokens, download tokens, and fields named like
secrets or document numbers. Log lines carry ids, never content.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Callable, MutableMapping
from typing import Any

import structlog

_SECRET_FIELDS = re.compile(
    r"(authorization|api_key|key_secret|secret|token|password|id_number|number|mrz|filename)",
    re.IGNORECASE,
)
_SAFE_FIELDS = frozenset({"key_id", "request_id", "status", "received_bytes"})
_SECRET_VALUES = re.compile(r"(kvk_[0-9a-f]{16}\.)[A-Za-z0-9_\-]+|(Bearer|Basic)\s+\S+")


def _scrub(value: str) -> str:
    return _SECRET_VALUES.sub(lambda m: (m.group(1) or f"{m.group(2)} ") + "[redacted]", value)


def redact(_logger: Any, _name: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    for key in list(event):
        value = event[key]
        if key not in _SAFE_FIELDS and _SECRET_FIELDS.search(key) and key != "event":
            event[key] = "[redacted]"
        elif isinstance(value, str):
            event[key] = _scrub(value)
    return event


Processor = Callable[[Any, str, MutableMapping[str, Any]], MutableMapping[str, Any]]


def configure(level: str = "INFO", fmt: str = "json", *, context: Processor | None = None) -> None:
    """Logs at ``level`` in ``fmt``; ``context`` adds what the running request or job binds
    (services/tracing.py: its request id, the trace id) to every line."""
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        *([context] if context else []),
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        redact,
    ]
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                renderer,
            ],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Our own access log names route templates; uvicorn's would print raw paths and queries.
    logging.getLogger("uvicorn.access").disabled = True
