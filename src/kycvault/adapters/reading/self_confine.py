"""The reader side of the confinement planned in ``sandbox.py``: what the process that reads
untrusted files does to itself after loading its code and before decoding a byte (no core
dumps and not dumpable, Landlock, an unprivileged user, seccomp). See ``sandbox.py`` for what
each step keeps out and why."""

from __future__ import annotations

import ctypes
import errno
import importlib
import os
import resource
from typing import Any

from kycvault.adapters.reading.sandbox import Confinement, SandboxError

_PR_SET_DUMPABLE = 4
_CLONE_NEWUSER = 0x10000000
# Refused with EPERM in the reader and Tesseract; none of them is on a decoder's path.
_DENIED_SYSCALLS = (
    "socket",
    "socketpair",
    "ptrace",
    "process_vm_readv",
    "process_vm_writev",
    "pidfd_getfd",
    "kcmp",
    "unshare",
    "setns",
    "mount",
    "umount2",
    "pivot_root",
    "chroot",
    "open_by_handle_at",
    "name_to_handle_at",
    "bpf",
    "perf_event_open",
    "userfaultfd",
    "io_uring_setup",
    "io_uring_enter",
    "io_uring_register",
    "keyctl",
    "add_key",
    "request_key",
    "kexec_load",
    "kexec_file_load",
    "init_module",
    "finit_module",
    "delete_module",
    "acct",
    "swapon",
    "swapoff",
    "reboot",
    "syslog",
    "quotactl",
)


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


def _not_dumpable(libc: ctypes.CDLL) -> None:
    if libc.prctl(_PR_SET_DUMPABLE, 0, 0, 0, 0) != 0:
        raise SandboxError(f"PR_SET_DUMPABLE: {os.strerror(ctypes.get_errno())}")


def _landlock(landlockpy: Any, confinement: Confinement) -> None:
    access = landlockpy.AccessFS
    abi = landlockpy.abi_version()
    file_rights = access.READ_FILE | access.EXECUTE | access.WRITE_FILE
    read = access.READ_FILE | access.READ_DIR
    granted = (
        [(p, read) for p in confinement.read]
        + [(p, read | access.EXECUTE) for p in confinement.execute]
        + [(p, access.READ_FILE | access.WRITE_FILE) for p in confinement.devices]
    )
    with landlockpy.Ruleset(
        handled_fs=landlockpy.fs_for_abi(abi),
        handled_net=landlockpy.net_for_abi(abi),
        scoped=landlockpy.scope_for_abi(abi),
    ) as ruleset:
        for path, rights in granted:
            try:
                # A rule on a file may only carry rights that apply to files.
                ruleset.allow_path(path, rights if os.path.isdir(path) else rights & file_rights)
            except FileNotFoundError:
                continue
        ruleset.restrict()


def _seccomp(pyseccomp: Any) -> None:
    rules = pyseccomp.SyscallFilter(pyseccomp.ALLOW)
    refused = pyseccomp.ERRNO(errno.EPERM)
    for name in _DENIED_SYSCALLS:
        try:
            rules.add_rule(refused, name)
        except OSError:
            continue  # a call this libseccomp does not know, so no program can make it here
    # New user namespaces through clone; clone3 hides its flags from filters, so it answers
    # "not implemented" and the C library falls back to clone.
    rules.add_rule(
        refused, "clone", pyseccomp.Arg(0, pyseccomp.MASKED_EQ, _CLONE_NEWUSER, _CLONE_NEWUSER)
    )
    rules.add_rule(pyseccomp.ERRNO(errno.ENOSYS), "clone3")
    rules.load()


def _drop_user(uid: int, gid: int) -> None:
    os.setgroups([])
    os.setresgid(gid, gid, gid)
    os.setresuid(uid, uid, uid)
    if os.getresuid() != (uid, uid, uid) or os.getresgid() != (gid, gid, gid):
        raise SandboxError("the reader user could not be taken")
    if uid != 0:
        try:
            os.setuid(0)
        except PermissionError:
            pass
        else:
            raise SandboxError("the reader could become root again")


def confine(confinement: Confinement) -> None:
    """Apply ``confinement`` to this process and everything it starts; irreversible. Called
    by the reader once its code is loaded, before it reads the file. Raises ``SandboxError``
    (or ``OSError``) when a planned layer cannot be applied: the caller must then stop."""
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    libc = _libc()
    _not_dumpable(libc)
    # Both bindings are loaded first: after the change of user the Python installation may
    # be out of reach (one under /root, say).
    landlockpy = importlib.import_module("landlockpy") if confinement.landlock_abi else None
    pyseccomp = importlib.import_module("pyseccomp") if confinement.seccomp else None
    if landlockpy is not None:
        # Before the change of user too: some allowed paths only root may open.
        _landlock(landlockpy, confinement)
    if confinement.uid is not None and confinement.gid is not None:
        _drop_user(confinement.uid, confinement.gid)
        _not_dumpable(libc)  # a change of user resets it
    if pyseccomp is not None:
        _seccomp(pyseccomp)
