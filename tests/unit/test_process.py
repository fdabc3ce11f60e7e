"""What a process that holds the master key does to itself (run in a child interpreter, so
the test process keeps its own settings): no core dumps, not dumpable, and the key variable
gone from its environment, /proc/self/environ included, and from its children's."""

from __future__ import annotations

import os
import subprocess
import sys


def test_a_hardened_process_dumps_no_core_and_keeps_no_key_in_its_environment() -> None:
    key = "q" * 43 + "="
    script = """
import ctypes, resource, subprocess, sys
from pathlib import Path
from kycvault.config import Settings
from kycvault.process import harden

harden()
assert resource.getrlimit(resource.RLIMIT_CORE) == (0, 0)
assert ctypes.CDLL(None).prctl(3, 0, 0, 0, 0) == 0  # PR_GET_DUMPABLE
for _ in range(2):  # read once, then held: later settings still have it
    assert Settings().master_key.get_secret_value() == sys.argv[1]
assert b"KYCVAULT_MASTER_KEY" not in Path("/proc/self/environ").read_bytes()
assert sys.argv[1].encode() not in Path("/proc/self/environ").read_bytes()
child = subprocess.run(["env"], capture_output=True, check=True).stdout
assert b"KYCVAULT_MASTER_KEY" not in child and b"KEEP=1" in child
"""
    env = {**os.environ, "KYCVAULT_MASTER_KEY": key, "KEEP": "1"}
    done = subprocess.run(
        [sys.executable, "-c", script, key], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
