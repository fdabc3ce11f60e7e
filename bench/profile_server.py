"""``kycvault serve`` under yappi's CPU clock, for profiling a route under load.

    pip install yappi
    YAPPI_OUT=/tmp/serve.pstat KYCVAULT_WORKERS=1 python bench/profile_server.py serve --port 8000

then drive it (``wrk``, ``bench/run.py``'s scripts) and stop it with SIGTERM: the functions'
statistics are saved as pstats (``YAPPI_OUT``, every thread; ``.main``, the event loop's
thread alone; ``.threads``, CPU per thread). uvicorn ends a server stopped by a signal by
raising that signal again, which skips ``atexit``: the statistics are saved just before.
yappi makes call-heavy code two to three times slower: read shares, not milliseconds
(bench/PROFILE.md).
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable

import yappi  # type: ignore[import-not-found,import-untyped,unused-ignore]

_saved: list[bool] = []


def _save() -> None:
    if _saved:
        return
    _saved.append(True)
    yappi.stop()
    out = os.environ["YAPPI_OUT"]
    yappi.get_func_stats().save(out, type="pstat")
    yappi.get_func_stats(filter={"ctx_id": 0}).save(f"{out}.main", type="pstat")
    with open(f"{out}.threads", "w") as threads:
        for thread in yappi.get_thread_stats():
            threads.write(f"{thread.name} {thread.id} {thread.ttot:.3f}\n")


def _saving_first(raise_signal: Callable[[int], None]) -> Callable[[int], None]:
    def raising(number: int) -> None:
        _save()
        raise_signal(number)

    return raising


def main() -> None:
    yappi.set_clock_type("cpu")
    yappi.start(builtins=False)
    signal.raise_signal = _saving_first(signal.raise_signal)
    sys.argv = ["kycvault", *sys.argv[1:]]
    from kycvault.cli import main as cli

    try:
        cli()
    finally:
        _save()


if __name__ == "__main__":
    main()
