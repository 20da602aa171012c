"""What a demo checks before it changes anything: its data folder's lock and its ports."""

from __future__ import annotations

import fcntl
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

HOST = "127.0.0.1"
LOCK_FILE = "demo.lock"


class DemoRefused(RuntimeError):
    """The demo cannot start; nothing has been changed."""


@contextmanager
def demo_lock(data_dir: Path) -> Iterator[None]:
    """Hold `data_dir` for the caller's life; refuse at once while another process holds it.

    An advisory `flock` on a file in the folder: the kernel releases it when the holder exits,
    however it exits, so a crashed demo never leaves a stale lock behind.
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(data_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(descriptor, 32, 0).decode(errors="replace").strip()
            raise DemoRefused(
                f"another demo (pid {holder or 'unknown'}) is running on {data_dir}: stop it "
                "first, or give this one its own folder with SHABABCO_DATA_DIR"
            ) from None
        os.ftruncate(descriptor, 0)
        os.pwrite(descriptor, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        os.close(descriptor)  # releases the lock


def require_free_port(port: int) -> None:
    """Raise DemoRefused when `port` cannot be listened on (another process has it)."""
    if not _bindable(port):
        raise DemoRefused(
            f"port {port} on {HOST} is taken by another process: stop it or pass --port"
        )


def free_port(preferred: int) -> int:
    """`preferred` if it is free, else any free port."""
    if _bindable(preferred):
        return preferred
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def _bindable(port: int) -> bool:
    # As uvicorn binds: SO_REUSEADDR, so a port in TIME_WAIT counts as free.
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((HOST, port))
        except OSError:
            return False
        return True
