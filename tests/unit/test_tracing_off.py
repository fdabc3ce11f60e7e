"""Tracing off costs a request nothing: no tracing middleware in the stack and OpenTelemetry's
SDK never imported; on, its middleware wraps the request middleware (so that the access log
line is written inside the request's span)."""

from __future__ import annotations

import subprocess
import sys
from contextlib import AbstractAsyncContextManager
from pathlib import Path

from kycvault.api.app import create_app
from kycvault.api.middleware import RequestMiddleware
from kycvault.api.tracing import TracingMiddleware
from kycvault.config import Settings
from kycvault.services.context import AppContext


def never_opened() -> AbstractAsyncContextManager[AppContext]:
    raise AssertionError("the application was not meant to start")


def middleware_of(settings: Settings) -> list[type]:
    app = create_app(settings, never_opened)
    return [m.cls for m in app.user_middleware]  # type: ignore[misc]


def test_off_adds_no_middleware(tmp_path: Path) -> None:
    stack = middleware_of(Settings(data_dir=tmp_path))
    assert stack[0] is RequestMiddleware  # the outermost
    assert TracingMiddleware not in stack


def test_on_wraps_the_request_middleware(tmp_path: Path) -> None:
    stack = middleware_of(Settings(data_dir=tmp_path, tracing="otlp"))
    assert stack[:2] == [TracingMiddleware, RequestMiddleware]


def test_off_never_imports_the_sdk(tmp_path: Path) -> None:
    script = (
        "import sys\n"
        "from kycvault.cli.asgi import build_app\n"
        "build_app()\n"
        "loaded = sorted(m for m in sys.modules if m.startswith(('opentelemetry.sdk',"
        " 'opentelemetry.exporter', 'kycvault.api.tracing', 'kycvault.adapters.tracing')))\n"
        "print(loaded)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        env={"KYCVAULT_DATA_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert done.stdout.strip() == "[]"
