"""Which process wrote a staging file, so that the leftovers of a process that died can be
removed at once rather than after a grace period.

A staging file's name starts with its writer's tag: host, process id and the process's start
time (``/proc/<pid>/stat``), so a process id reused by a later process does not count as the
same writer. A tag of another host, or one that cannot be checked, is never taken for gone:
those files wait for the grace period.
"""

from __future__ import annotations

import functools
import os
import re
import socket

_TAG = re.compile(r"^(?P<host>[A-Za-z0-9-]{1,40})_(?P<pid>[0-9]{1,10})_(?P<start>[0-9]{1,20})$")


def _host() -> str:
    return re.sub(r"[^A-Za-z0-9-]", "-", socket.gethostname())[:40] or "host"


def _start_time(pid: int) -> str | None:
    """The process's start time in clock ticks since boot, or None when it is not running
    (or this system has no /proc)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            stat = handle.read()
    except OSError:
        return None
    # The command name (field 2) may hold spaces and parentheses: fields after its last ')'.
    fields = stat[stat.rfind(b")") + 2 :].split()
    return fields[19].decode() if len(fields) > 19 else None


@functools.cache
def _tag_of(pid: int) -> str:
    return f"{_host()}_{pid}_{_start_time(pid) or 0}"


def owner_tag() -> str:
    """This process's tag (computed once per process; a forked child gets its own)."""
    return _tag_of(os.getpid())


def owner_gone(tag: str) -> bool:
    """True only when the tagged process is certainly not running any more."""
    fields = _TAG.match(tag)
    if fields is None or fields["host"] != _host() or fields["start"] == "0":
        return False
    pid = int(fields["pid"])
    if pid == os.getpid():
        return False
    return _start_time(pid) != fields["start"]
