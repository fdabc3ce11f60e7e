"""The image's health check (scripts/container-healthcheck, the Dockerfile's HEALTHCHECK) run
against a real server process: healthy while it serves, unhealthy where nothing answers, and
never sent through a proxy configured for the server's outbound traffic."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import Server, free_port

pytestmark = pytest.mark.embedded
SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "container-healthcheck"


def health(port: int, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("KYCVAULT_")}
    environment.update(KYCVAULT_PORT=str(port), **env)
    return subprocess.run(
        [sys.executable, str(SCRIPT)],
        env=environment,
        capture_output=True,
        text=True,
        check=False,
        timeout=30,
    )


def test_a_serving_server_is_healthy(process_server: Server) -> None:
    done = health(process_server.port)
    assert done.returncode == 0, done.stderr
    # A proxy meant for outbound calls (webhooks) is not used for the server's own port.
    dead_proxy = f"http://127.0.0.1:{free_port()}"
    done = health(process_server.port, http_proxy=dead_proxy, HTTP_PROXY=dead_proxy)
    assert done.returncode == 0, done.stderr


def test_nothing_listening_is_unhealthy() -> None:
    done = health(free_port())
    assert done.returncode == 1
    assert done.stderr.startswith("unhealthy:")
