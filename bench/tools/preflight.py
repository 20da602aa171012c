"""Stop a benchmark before it starts when an outside command it runs is missing.

A missing `wrk` otherwise surfaces minutes in, after the catalog is loaded and the servers are
up, as a FileNotFoundError from deep inside a subprocess call.
"""

from __future__ import annotations

import shutil

# Debian installs daemons (pgbouncer, haproxy) in sbin, which a user's PATH often lacks; the
# benchmarks that run them look there too.
SBIN = "/usr/sbin:/sbin"
PACKAGES = {"taskset": "util-linux"}  # where the Debian package is not named after the command


def command_path(name: str) -> str | None:
    """Where the command `name` is, on PATH or in sbin; None if in neither."""
    return shutil.which(name) or shutil.which(name, path=SBIN)


def missing_commands(*names: str) -> list[str]:
    """Answer those of `names` found neither on PATH nor in sbin."""
    return [name for name in names if command_path(name) is None]


def require_commands(*names: str) -> None:
    """Exit, naming what is missing and how to install it, unless every command is there."""
    missing = missing_commands(*names)
    if missing:
        packages = " ".join(dict.fromkeys(PACKAGES.get(name, name) for name in missing))
        raise SystemExit(
            f"this benchmark needs {', '.join(missing)}, not found on PATH"
            f" (install: apt-get install -y {packages})"
        )
