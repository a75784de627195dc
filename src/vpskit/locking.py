"""One writer at a time on a Cityscapes-VPS folder: the lock file ``ROOT/.vpskit.lock``.

Every command that writes into ROOT (``prepare``, ``fetch``, ``merge``, ``panoptic``,
``video``, and the ``--release`` unpacking) holds the lock exclusively while it runs; ``verify``
holds it shared. A run that finds the lock taken stops at once with one line naming the
holder, before it changes anything. The lock is an ``flock`` on the file, so the kernel drops it
when its holder dies, even by ``kill -9``: a lock file left behind by a dead run is simply
taken over. The holder writes its pid and host name into the file (for the message) and
removes the file when it is done.

Only the process that took the lock holds it: worker processes (local or on a Dask cluster)
never take it, and forked workers close their inherited copy of the file.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import functools
import os
import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import ParamSpec, TypeVar

from .errors import VpsError

LOCK_NAME = ".vpskit.lock"
"""Name of the lock file inside ROOT (hidden, so that no stage or check ever lists it)."""

_NO_LOCKS = (errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOSYS)
"""``flock`` errors of file systems without locks: the run goes on unlocked there."""

_READ_ONLY = (errno.EROFS, errno.EACCES, errno.EPERM)


@dataclass
class _Held:
    fd: int
    shared: bool


P = ParamSpec("P")
R = TypeVar("R")

_HELD: dict[Path, _Held] = {}
"""Locks this process holds, by resolved ROOT (a nested command reuses its caller's lock)."""


def _forget_after_fork() -> None:
    # A forked child must not keep the parent's lock alive, nor remove its file.
    for held in _HELD.values():
        with contextlib.suppress(OSError):
            os.close(held.fd)
    _HELD.clear()


os.register_at_fork(after_in_child=_forget_after_fork)


def _holder(fd: int) -> str:
    """``"(pid N)"`` or ``"(pid N on host H)"`` from the lock file, or ``""`` if it says nothing yet."""
    text = ""
    for _ in range(10):  # the holder writes its pid just after taking the lock
        with contextlib.suppress(OSError):
            text = os.pread(fd, 256, 0).decode("utf-8", "replace").strip()
        if text:
            break
        time.sleep(0.02)
    fields = text.split()
    if not fields or not fields[0].isdigit():
        return ""
    host = fields[1] if len(fields) > 1 else ""
    if host and host != socket.gethostname():
        return f" (pid {fields[0]} on host {host})"
    return f" (pid {fields[0]})"


def _busy(root: Path, fd: int, want_shared: bool) -> VpsError:
    """The error of a run that found the lock taken (``fd``: its open lock file)."""
    if not want_shared:
        try:  # a shared lock is still free: the holders are verifying, not preparing
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except OSError:
            pass
        else:
            return VpsError(root, "a vpskit verify is reading this folder; wait for it or stop it")
    return VpsError(root, f"another vpskit run{_holder(fd)} is preparing this folder; "
                    "wait for it or stop it")


def _acquire(root: Path, shared: bool) -> int | None:
    """Open and lock ROOT's lock file; return its descriptor (``None``: locks unavailable here)."""
    path = root / LOCK_NAME
    while True:
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError as exc:
            if shared and exc.errno in _READ_ONLY:
                return None  # a folder nobody may write to needs no lock for reading
            raise VpsError(path, f"cannot create the lock file ({exc.strerror})") from None
        try:
            fcntl.flock(fd, (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | fcntl.LOCK_NB)
        except BlockingIOError:
            error = _busy(root, fd, shared)
            os.close(fd)
            raise error from None
        except OSError as exc:
            os.close(fd)
            if exc.errno in _NO_LOCKS:
                return None
            raise VpsError(path, f"cannot lock ({exc.strerror})") from None
        # The last holder may have removed the file between our open and our lock: then the
        # lock we hold is on a file nobody else sees; start again with the current file.
        try:
            current = os.stat(path)
        except FileNotFoundError:
            current = None
        mine = os.fstat(fd)
        if current is not None and (current.st_ino, current.st_dev) == (mine.st_ino, mine.st_dev):
            return fd
        os.close(fd)


def _release(root: Path, held: _Held) -> None:
    path = root / LOCK_NAME
    try:
        if held.shared:
            # Remove the file only when no other reader holds it (a try for the exclusive lock).
            try:
                fcntl.flock(held.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                return
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
    finally:
        os.close(held.fd)


@contextlib.contextmanager
def root_lock(root: str | os.PathLike, *, shared: bool = False) -> Iterator[None]:
    """Hold ROOT's lock while the block runs: exclusive (writers) or ``shared`` (readers).

    Raises ``VpsError`` naming ROOT when another run holds it (an exclusive holder is named by
    its pid). A ROOT that does not exist is not locked (nothing in it to protect). Re-entrant
    within one process: a command run inside another shares its lock.
    """
    root = Path(root)
    if not root.is_dir():
        yield
        return
    key = root.resolve()
    held = _HELD.get(key)
    if held is not None:
        if held.shared and not shared:
            raise VpsError(root, "cannot write into this folder while verifying it")
        yield
        return
    fd = _acquire(root, shared)
    if fd is None:
        yield
        return
    held = _HELD[key] = _Held(fd, shared)
    try:
        if not shared:
            note = f"{os.getpid()} {socket.gethostname()}\n".encode()
            with contextlib.suppress(OSError):  # only for messages: a full disk may refuse it
                os.pwrite(fd, note, 0)  # then cut what a dead holder may have left after it
                os.ftruncate(fd, len(note))
        yield
    finally:
        _HELD.pop(key, None)
        _release(root, held)


def holding_lock(*, shared: bool = False) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Decorate a function whose first argument is ROOT so that it runs inside
    :func:`root_lock` on that ROOT."""
    def decorate(fn: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(fn)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            root = args[0] if args else kwargs["root"]
            with root_lock(root, shared=shared):  # type: ignore[arg-type]
                return fn(*args, **kwargs)
        return wrapper
    return decorate
