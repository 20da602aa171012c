#!/usr/bin/env python3
"""Set up `.venv/` from the lock file, then run the demo, the tests or any `shababco` command.

    python3 dev.py demo            # the service on its embedded default
    python3 dev.py test [ARGS]     # ruff, mypy and pytest (ARGS go to pytest)
    python3 dev.py shababco ARGS   # any `shababco` command
    python3 dev.py setup           # only the set-up step

Needs nothing but Python 3.11+: the virtual environment, uv and every pinned dependency are
installed on first use and again whenever `requirements.lock` or `pyproject.toml` change.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
UV_VERSION = "0.13.9"
STAMP = VENV / ".shababco-installed"


def _inputs_digest() -> str:
    digest = hashlib.sha256()
    for name in ("requirements.lock", "pyproject.toml"):
        digest.update((ROOT / name).read_bytes())
    digest.update(UV_VERSION.encode())
    return digest.hexdigest()


def _run(*args: str | Path) -> None:
    subprocess.run([str(a) for a in args], cwd=ROOT, check=True)


def setup() -> None:
    """Create `.venv/` and install the locked dependencies and the package, if not current."""
    if sys.version_info < (3, 11):
        sys.exit("Python 3.11 or newer is required")
    if not (BIN / "python").exists():
        print("creating .venv/ ...", flush=True)
        venv.EnvBuilder(with_pip=True, clear=True).create(VENV)
    digest = _inputs_digest()
    if STAMP.exists() and STAMP.read_text() == digest:
        return
    print("installing locked dependencies into .venv/ ...", flush=True)
    _run(
        BIN / "python",
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        f"uv=={UV_VERSION}",
    )
    uv = BIN / "uv"
    _run(uv, "pip", "sync", "--quiet", "--python", BIN / "python", "requirements.lock")
    _run(uv, "pip", "install", "--quiet", "--python", BIN / "python", "--no-deps", "-e", ".")
    STAMP.write_text(digest)


def test(pytest_args: list[str]) -> int:
    """Lint, type-check and run the whole test suite."""
    for step in (["ruff", "check", "."], ["ruff", "format", "--check", "."], ["mypy"]):
        print(f"== {' '.join(step)}", flush=True)
        if subprocess.run([str(BIN / step[0]), *step[1:]], cwd=ROOT).returncode != 0:
            return 1
    print("== pytest", flush=True)
    return subprocess.run([str(BIN / "pytest"), *pytest_args], cwd=ROOT).returncode


def main(argv: list[str]) -> int:
    if not argv or argv[0] in {"-h", "--help"}:
        print(__doc__)
        return 0
    setup()
    command, rest = argv[0], argv[1:]
    if command == "setup":
        return 0
    if command == "test":
        return test(rest)
    if command == "demo":
        rest = ["demo", *rest]
    elif command == "shababco":
        pass
    else:
        sys.exit(f"unknown command {command!r}; see `python3 dev.py --help`")
    os.execv(BIN / "shababco", [str(BIN / "shababco"), *rest])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
