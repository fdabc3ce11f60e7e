"""Running uvicorn so that its worker processes get the master key without the environment.

``kycvault serve`` takes ``KYCVAULT_MASTER_KEY`` out of its environment when it reads its
settings (config.py), so worker processes started by ``--workers N`` cannot inherit it.
uvicorn starts them with multiprocessing's ``spawn`` and sends each its configuration
through a pipe, pickled: the key travels inside that configuration and is held by the
worker as it is unpickled, before the application is built. It is never in a file, an
argument or an environment. This module imports nothing heavy: a worker unpickles it before
it can answer uvicorn's start-up health check.
"""

from __future__ import annotations

import contextlib
import sys
from typing import Any

import uvicorn
from uvicorn.supervisors import Multiprocess

from kycvault.process import held_master_key, hold_master_key

_KEY = "_kycvault_master_key"
_STARTUP_FAILURE = 3  # uvicorn's exit status when the server did not start


class _KeyCarryingConfig(uvicorn.Config):
    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state[_KEY] = held_master_key()
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        key = state.pop(_KEY, None)
        if key:
            hold_master_key(key)
        self.__dict__.update(state)


def run_uvicorn(app: str, **options: Any) -> None:
    """``uvicorn.run(app, **options)`` for an import string, worker processes included."""
    config = _KeyCarryingConfig(app, **options)
    server = uvicorn.Server(config=config)
    if config.workers > 1:
        Multiprocess(config, sockets=[config.bind_socket()]).run()
        return
    config.load_app()  # fails fast, as uvicorn.run does, on an app that cannot be imported
    with contextlib.suppress(KeyboardInterrupt):
        server.run()
    if not server.started:
        sys.exit(_STARTUP_FAILURE)
