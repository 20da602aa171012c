"""Real processes for the tests: `shababco serve` and a `redis-server` of their own."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from tests.support.data import TEST_SHOP, WEBHOOK_SECRET
from tests.support.server import free_port
from tests.support.services import redis_reachable


def wait_until(check: Callable[[], bool], what: str, log: Path, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not start:\n{log.read_text()[-4000:]}")
        time.sleep(0.05)


class RedisServer:
    """`redis-server` on a free port, without persistence; stopped and started at will."""

    def __init__(self, binary: str) -> None:
        self.binary, self.port = binary, free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.folder = Path(tempfile.mkdtemp(prefix="shababco-redis-"))
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        log = self.folder / "redis.log"
        command = [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", ""]
        command += ["--appendonly", "no", "--dir", str(self.folder)]
        with log.open("ab") as out:
            self.process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
        wait_until(lambda: redis_reachable(self.url), "redis-server", log)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(10)
            self.process = None


class ServeProcess:
    """`shababco serve --port P` on the test database, configured as an operator would."""

    def __init__(
        self, database_url: str, redis_url: str | None = None, *, workers: int = 1, **env: str
    ) -> None:
        self.port, self.workers = free_port(), workers
        self.url = f"http://127.0.0.1:{self.port}"
        self.folder = Path(tempfile.mkdtemp(prefix="shababco-serve-"))
        inherited = {k: v for k, v in os.environ.items() if not k.startswith(("CACHE_", "REDIS"))}
        self.env = inherited | {
            "DATABASE_URL": database_url,
            "SHOPIFY_WEBHOOK_SECRET": WEBHOOK_SECRET,
            "SHOPIFY_SHOP": TEST_SHOP,
            "SHOP_CURRENCY": "USD",
            "LOG_LEVEL": "warning",
            **({"REDIS_URL": redis_url} if redis_url else {}),
            **env,
        }
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.launch()
        self.wait_started()

    def launch(self) -> None:
        """Start the process without waiting for it (see `start_all`)."""
        script = Path(sys.executable).parent / "shababco"
        with (self.folder / "serve.log").open("ab") as out:
            self.process = subprocess.Popen(
                [str(script), "serve", "--port", str(self.port), "--workers", str(self.workers)],
                cwd=self.folder,  # no stray .env
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def wait_started(self) -> None:
        try:
            # Each spawned worker imports the app anew: slow on a busy two-core machine.
            seconds = 30 + 30 * (self.workers - 1)
            log = self.folder / "serve.log"
            wait_until(self._healthy, f"shababco serve on port {self.port}", log, seconds)
        except RuntimeError:
            self.stop()
            raise

    def _healthy(self) -> bool:
        try:
            return httpx.get(f"{self.url}/health", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    @property
    def log(self) -> str:
        return (self.folder / "serve.log").read_text()

    def kill(self) -> None:
        """SIGKILL: the process gets no chance to clean up."""
        if self.process is not None:
            self.process.kill()
            self.process.wait(10)

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)
        shutil.rmtree(self.folder, ignore_errors=True)


def start_all(processes: list[ServeProcess]) -> None:
    """Start several processes at once; stop them all if one does not come up."""
    try:
        for process in processes:
            process.launch()
        for process in processes:
            process.wait_started()
    except BaseException:
        for process in processes:
            process.stop()
        raise
