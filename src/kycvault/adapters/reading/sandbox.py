"""What the process that reads untrusted files (``child.py``) may reach, and how it is kept to
that. A decoder bug in Pillow, pypdf, pdfium, libheif or Tesseract must not expose the master
key, the database or S3 credentials, or another tenant's files.

The worker side plans the confinement once (``plan``) and starts each reader with it
(``spawn``): an environment built from an allow-list (never ``KYCVAULT_*``, ``AWS_*`` or a
database URL), no descriptor but its three pipes, and ``/`` as its directory. The reader side
(``self_confine.confine``) then, after loading its code and before decoding a byte of the file:

- turns core dumps off (``RLIMIT_CORE`` 0) and makes itself non-dumpable, so no other process
  of its user can attach to it or read its memory;
- restricts itself with Landlock where the kernel has it: read-only access to the Python
  installation, the system libraries, Tesseract and its language data; execution only of what
  lives under the system directories and the configured Tesseract; nothing under the data
  directory or the key file, even when they lie below an allowed directory; no TCP connect or
  bind, no abstract UNIX socket or signal outside its own processes where the ABI has them;
- drops to an unprivileged user when the server runs as root (``KYCVAULT_READER_USER``,
  ``nobody`` by default), so file permissions stop it too;
- loads a seccomp filter (libseccomp, through ``pyseccomp``) that refuses creating sockets of
  any kind, tracing or reading other processes, new namespaces, ``bpf``, ``io_uring``,
  ``userfaultfd``, keyrings and the administrative calls, keeping the kernel's reachable surface
  small.

Tesseract, started by the reader, inherits all of it. What the kernel lacks is skipped and
said once, at start-up (see ``describe``); what it has and fails to apply stops the read.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import importlib
import importlib.util
import json
import os
import pwd
import shutil
import subprocess
import sys
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import IO, Any

# Variables the reader and Tesseract need; every other one (keys, credentials, database URLs,
# proxies) stays with the worker.
PASSED_VARIABLES = ("PATH", "LANG", "LC_ALL", "LC_CTYPE", "TESSDATA_PREFIX")

# System trees the reader may read and run programs from (Tesseract, the shell a configured
# wrapper script uses, the dynamic loader and libraries).
_SYSTEM_TREES = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
# Single files and small trees outside those that the loader, libc and OpenMP read.
_SYSTEM_FILES = ("/etc/ld.so.cache", "/etc/localtime", "/sys/devices/system/cpu")
_DEVICES_READ = ("/dev/urandom", "/dev/random")
_DEVICES_WRITE = ("/dev/null",)


class SandboxError(RuntimeError):
    """The reader could not be confined as planned; it must not read the file."""


@dataclass(frozen=True, slots=True)
class Confinement:
    """Everything the reader applies to itself, decided by the worker (``plan``)."""

    user: str | None = None  # name of the user to drop to; None: stay the server's user
    uid: int | None = None
    gid: int | None = None
    read: tuple[str, ...] = ()  # trees readable, nothing more
    execute: tuple[str, ...] = ()  # trees readable and executable
    devices: tuple[str, ...] = ()  # device files readable and writable
    landlock_abi: int = 0  # 0: no Landlock
    seccomp: bool = False
    notes: tuple[str, ...] = field(default=(), compare=False)  # what could not be had

    def argument(self) -> str:
        return json.dumps({k: v for k, v in asdict(self).items() if k != "notes"})

    @classmethod
    def from_argument(cls, text: str) -> Confinement:
        raw = json.loads(text)
        return cls(
            user=raw["user"],
            uid=raw["uid"],
            gid=raw["gid"],
            read=tuple(raw["read"]),
            execute=tuple(raw["execute"]),
            devices=tuple(raw["devices"]),
            landlock_abi=int(raw["landlock_abi"]),
            seccomp=bool(raw["seccomp"]),
        )

    @classmethod
    def from_argv(cls, argv: Sequence[str]) -> Confinement:
        """The confinement a module started by ``spawn`` was given (its one argument)."""
        if len(argv) != 2:
            raise SandboxError("started without a confinement: use the worker's launcher")
        return cls.from_argument(argv[1])


# Worker side


def child_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """The reader's and Tesseract's whole environment: an allow-list, one OpenMP thread."""
    env = {name: environ[name] for name in PASSED_VARIABLES if name in environ}
    env.setdefault("PATH", os.defpath)
    env["OMP_THREAD_LIMIT"] = "1"  # the worker runs several documents side by side
    # numpy's BLAS (loaded with the face detector) reserves memory for a thread per core.
    env["OPENBLAS_NUM_THREADS"] = "1"
    return env


def _import_path() -> list[str]:
    """The worker's own import path: the reader runs exactly the code the worker runs."""
    seen: list[str] = []
    for entry in sys.path:
        if entry and os.path.exists(entry):
            absolute = os.path.abspath(entry)
            if absolute not in seen:
                seen.append(absolute)
    return seen


def spawn(
    module: str, confinement: Confinement, *, stderr: int | IO[bytes] | None = subprocess.DEVNULL
) -> subprocess.Popen[bytes]:
    """Start ``python -m module`` as a reader: stdin and stdout are pipes, stderr goes to
    ``stderr``; no other descriptor, an allow-listed environment, its own process group (so
    the worker can end it with everything it started). The module calls ``confine`` itself."""
    env = child_environment(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(_import_path())
    return subprocess.Popen(
        # -s: no user site directory, -P: nothing from the working directory.
        [sys.executable, "-s", "-P", "-m", module, confinement.argument()],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=stderr,
        close_fds=True,
        start_new_session=True,
        cwd="/",
        env=env,
    )


def _resolve_user(requested: str | None) -> tuple[str | None, int | None, int | None]:
    """(name, uid, gid) to drop to, or Nones to stay the server's user."""
    euid = os.geteuid()
    if not requested:
        if euid != 0:
            return None, None, None  # an unprivileged server cannot change user anyway
        requested = "nobody"
    try:
        entry = pwd.getpwuid(int(requested)) if requested.isdigit() else pwd.getpwnam(requested)
        name, uid, gid = entry.pw_name, entry.pw_uid, entry.pw_gid
    except KeyError:
        if not requested.isdigit():
            raise SandboxError(
                f"KYCVAULT_READER_USER: no user {requested!r} on this system"
            ) from None
        # A bare uid, as containers use: its own number as its group.
        name, uid, gid = requested, int(requested), int(requested)
    if uid == euid:
        return None, None, None
    if euid != 0:
        raise SandboxError(
            f"KYCVAULT_READER_USER={requested} needs the server to run as root "
            "(an unprivileged server reads files as itself: leave it unset)"
        )
    return name, uid, gid


def _python_trees() -> list[str]:
    trees = [sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix]
    trees.append(os.path.dirname(os.path.realpath(sys.executable)))
    return [*trees, *_import_path()]


def _within(path: Path, ancestor: Path) -> bool:
    return path == ancestor or ancestor in path.parents


def narrowed(trees: Iterable[str], private: Iterable[Path]) -> list[str]:
    """``trees`` with every private path cut out: a tree holding one is replaced by its
    entries (recursively, down to the private path), a tree inside one is dropped. Paths are
    compared resolved, so a link into a private directory is dropped too."""
    hidden = [Path(os.path.realpath(p)) for p in private]
    out: list[str] = []

    def walk(path: Path) -> Iterator[str]:
        real = Path(os.path.realpath(path))
        if not real.exists() or any(_within(real, p) for p in hidden):
            return
        if not any(_within(p, real) for p in hidden):
            yield str(real)
            return
        try:
            entries = sorted(real.iterdir())
        except OSError:
            return
        for entry in entries:
            yield from walk(entry)

    for tree in trees:
        for path in walk(Path(tree)):
            if path not in out:
                out.append(path)
    return out


def landlock_abi() -> int:
    """The kernel's Landlock ABI version; 0 when it has none."""
    try:
        import landlockpy
    except ImportError:
        return 0
    try:
        return int(landlockpy.abi_version())
    except OSError:
        return 0


def seccomp_available() -> bool:
    """Whether a seccomp filter can be loaded: kernel support, libseccomp and its binding."""
    try:
        with open("/proc/self/status", encoding="ascii", errors="replace") as status:
            if not any(line.startswith("Seccomp:") for line in status):
                return False
    except OSError:
        return False
    return (
        importlib.util.find_spec("pyseccomp") is not None
        and ctypes.util.find_library("seccomp") is not None
    )


def plan(
    *,
    user: str | None = None,
    private: Iterable[Path] = (),
    tesseract_binary: str = "tesseract",
) -> Confinement:
    """The confinement of every reader this worker starts. ``private`` are the paths the
    reader must never reach (data directory, key file, database, blobs). Raises
    ``SandboxError`` for a reader user that cannot be had."""
    name, uid, gid = _resolve_user(user)
    private = list(private)
    notes: list[str] = []
    execute = list(_SYSTEM_TREES)
    tesseract = shutil.which(tesseract_binary)
    if tesseract:
        execute.append(os.path.realpath(tesseract))
    read = [*_python_trees(), *_SYSTEM_FILES]
    if os.environ.get("TESSDATA_PREFIX"):
        read.append(os.environ["TESSDATA_PREFIX"])
    abi = landlock_abi()
    if abi < 1:
        notes.append("no Landlock in this kernel: the reader can read what its user can")
    elif abi < 4:
        notes.append(f"Landlock ABI {abi} has no network rules (4 and later)")
    seccomp = seccomp_available()
    if not seccomp:
        notes.append("no seccomp filter (needs libseccomp2 and kernel support)")
    if name is None and os.geteuid() == 0:
        notes.append("the reader runs as root")
    return Confinement(
        user=name,
        uid=uid,
        gid=gid,
        read=tuple(narrowed(read, private)),
        execute=tuple(narrowed(execute, private)),
        devices=tuple(p for p in (*_DEVICES_READ, *_DEVICES_WRITE) if os.path.exists(p)),
        landlock_abi=abi,
        seccomp=seccomp,
        notes=tuple(notes),
    )


def _own_user() -> str:
    try:
        return pwd.getpwuid(os.geteuid()).pw_name + " (the server's own)"
    except KeyError:
        return f"uid {os.geteuid()} (the server's own)"


def describe(confinement: Confinement) -> dict[str, Any]:
    """What the reader gets, for the start-up log line."""
    abi = confinement.landlock_abi
    covered = ["filesystem"] + ["network"] * (abi >= 4) + ["signals, abstract sockets"] * (abi >= 6)
    return {
        "environment": "allow-list (" + ", ".join(PASSED_VARIABLES) + ")",
        "descriptors": "stdin, stdout, stderr only",
        "core_dumps": "off",
        "user": confinement.user or _own_user(),
        "landlock": f"ABI {abi}: " + ", ".join(covered) if abi >= 1 else "off",
        "seccomp": "on" if confinement.seccomp else "off",
        "missing": list(confinement.notes),
    }


def without(confinement: Confinement, *what: str) -> Confinement:
    """A copy with some layers off (``"user"``, ``"landlock"``, ``"seccomp"``), so each can
    be tried on its own."""
    changes: dict[str, Any] = {}
    if "user" in what:
        changes.update(user=None, uid=None, gid=None)
    if "landlock" in what:
        changes["landlock_abi"] = 0
    if "seccomp" in what:
        changes["seccomp"] = False
    return replace(confinement, **changes)
