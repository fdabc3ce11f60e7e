"""Process-level protection of the secrets a kycvault process holds.

Python cannot wipe a key from memory, so a process that holds the master key (or tenant keys
unwrapped from it) keeps that memory from leaving by other ways: no core file (RLIMIT_CORE
0, soft and hard, inherited by every child) and not dumpable (PR_SET_DUMPABLE 0: no core
through a pipe handler either, no ptrace attach, no /proc/PID/mem or environ for other
processes of the same user). The master key variable is taken out of the environment once
read: out of ``os.environ``, so that no child started later inherits it, and out of the
block the kernel shows as /proc/PID/environ, which unsetting alone leaves as it was.
"""

from __future__ import annotations

import ctypes
import os
import resource
import sys
from pathlib import Path

_PR_SET_DUMPABLE = 4

_held_master_key: str | None = None


def held_master_key() -> str | None:
    """The master key this process took from its environment or was handed, if any."""
    return _held_master_key


def hold_master_key(value: str | None) -> None:
    """Keep the master key in this process (taken from the environment, or handed over by
    the parent through a pipe) for every settings object read afterwards."""
    global _held_master_key
    _held_master_key = value or None


def harden() -> None:
    """No core dumps of this process or its children, and not dumpable (Linux)."""
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(_PR_SET_DUMPABLE, 0, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_DUMPABLE, 0) failed")


def take_from_environment(name: str) -> str | None:
    """The variable's value, removed from this process's environment for good."""
    value = os.environ.pop(name, None)
    if value is not None:
        _scrub_initial_environment(name.encode())
    return value


def _scrub_initial_environment(name: bytes) -> None:
    """Overwrite ``name=value`` in the environment block the process was started with (what
    /proc/PID/environ shows). ``os.environ.pop`` has already unset it, so nothing points
    at those bytes any more."""
    if not sys.platform.startswith("linux"):
        return
    try:
        stat = Path("/proc/self/stat").read_bytes()
        fields = stat[stat.rindex(b")") + 2 :].split()
        start, end = int(fields[47]), int(fields[48])  # env_start, env_end (proc(5))
    except (OSError, ValueError, IndexError):
        return
    if start <= 0 or end <= start:
        return
    prefix = name + b"="
    offset = 0
    for entry in ctypes.string_at(start, end - start).split(b"\0"):
        if entry.startswith(prefix):
            ctypes.memset(start + offset, 0, len(entry))
        offset += len(entry) + 1
