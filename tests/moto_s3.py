"""moto's S3, served on loopback for the test session (``python -m tests.moto_s3 PORT``).

``moto_server`` serves every AWS service and finds out which one each request is for: it
lists moto's package directory and tries the URL patterns of every service, per request,
under one lock, which was a fifth of its CPU time under the crash loop's uploads. The suite
only speaks S3, so this dispatcher answers "s3" straight away; moto's S3 itself (parsing,
storage, responses) is the same one ``moto_server`` runs. Request logging is off: nobody
reads it, and each line cost a write to a discarded stream.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import run_simple


class S3Dispatcher(DomainDispatcherApplication):
    def get_backend_for_host(self, host: str | None) -> Any:
        return None if host is None else "s3"


def main() -> None:
    port = int(sys.argv[1])
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    run_simple(
        "127.0.0.1",
        port,
        S3Dispatcher(create_backend_app),
        threaded=True,
        request_handler=MotoRequestHandler,
    )


if __name__ == "__main__":
    main()
