"""A production topology of real parts, started for the tests and torn down after them.

A PostgreSQL primary, a streaming replica applying the primary's changes `REPLICA_DELAY_MS`
late, and PgBouncer in transaction mode in front of both (`{db}` reaches the primary, `{db}_ro`
the replica, any other name the primary's database of that name). Each server is a process of
its own on a free port, run as the `postgres` user when the tests run as root (initdb refuses
root), with its data in a temporary folder. Debian's packages: `postgresql-15` (initdb,
pg_ctl, pg_basebackup) and `pgbouncer`; `.ci/run` installs them when missing.
"""

from __future__ import annotations

import asyncio
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import asyncpg

from tests.support.server import free_port

REPLICA_DELAY_MS = 1500
POSTGRES_TOOLS = ("initdb", "pg_ctl", "pg_basebackup", "pg_dump", "pg_restore")
PRIMARY_SETTINGS = """
listen_addresses = '127.0.0.1'
unix_socket_directories = '{sockets}'
max_connections = 150
shared_buffers = 32MB
fsync = off
synchronous_commit = off
full_page_writes = off
wal_level = replica
max_wal_senders = 4
hot_standby = on
"""
PGBOUNCER_INI = """
[databases]
{db} = host=127.0.0.1 port={primary} dbname={db}
{db}_ro = host=127.0.0.1 port={replica} dbname={db}
* = host=127.0.0.1 port={primary}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {port}
unix_socket_dir =
auth_type = trust
auth_file = {folder}/userlist.txt
admin_users = postgres
pool_mode = transaction
; fewer server connections than clients: a client's consecutive transactions land on
; different server connections, as they do in production
default_pool_size = 6
max_client_conn = 1000
logfile = {folder}/pgbouncer.log
"""


def postgres_bin() -> Path | None:
    """The newest installed PostgreSQL's binaries (Debian keeps them per version)."""
    for folder in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if all((folder / tool).exists() for tool in POSTGRES_TOOLS):
            return folder
    return None


def pgbouncer_bin() -> str | None:
    return shutil.which("pgbouncer") or shutil.which("pgbouncer", path="/usr/sbin")


def missing_tools() -> list[str]:
    """What the topology needs and this machine lacks."""
    missing = [] if postgres_bin() else [f"PostgreSQL's {', '.join(POSTGRES_TOOLS)}"]
    if pgbouncer_bin() is None:
        missing.append("pgbouncer")
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            missing.append("the postgres user")
    return missing


class Topology:
    """The servers; `start()` brings them up with database `name` migrated, `close()` ends them."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.bin = postgres_bin() or Path("/nonexistent")
        self.folder = Path(tempfile.mkdtemp(prefix="shababco-topology-"))
        self.primary_port, self.replica_port, self.pooler_port = (free_port() for _ in range(3))
        self._as_postgres: dict[str, Any] = {}
        if os.geteuid() == 0:
            self._as_postgres = {"user": "postgres", "group": "postgres", "extra_groups": []}
            user = pwd.getpwnam("postgres")
            os.chown(self.folder, user.pw_uid, user.pw_gid)
        self.pooler: subprocess.Popen[bytes] | None = None
        self.running: list[Path] = []

    def url(self, port: int, database: str | None = None) -> str:
        return f"postgresql://postgres@127.0.0.1:{port}/{database or self.name}"

    @property
    def primary_url(self) -> str:
        return self.url(self.primary_port)

    @property
    def replica_url(self) -> str:
        return self.url(self.replica_port)

    @property
    def pooled_url(self) -> str:
        """The primary through PgBouncer."""
        return self.url(self.pooler_port)

    @property
    def pooled_replica_url(self) -> str:
        """The replica through PgBouncer."""
        return self.url(self.pooler_port, f"{self.name}_ro")

    def _run(self, *command: str | Path | int) -> None:
        done = subprocess.run(
            [str(part) for part in command],
            capture_output=True,
            cwd=self.folder,
            check=False,
            **self._as_postgres,
        )
        if done.returncode != 0:
            raise RuntimeError(f"{command[0]} failed: {done.stdout!r} {done.stderr!r}")

    def _pg_ctl_start(self, data: Path, port: int) -> None:
        log = self.folder / f"{data.name}.log"
        self._run(self.bin / "pg_ctl", "-D", data, "-l", log, "-w", "-t", "60",
                  "-o", f"-p {port}", "start")  # fmt: skip
        self.running.append(data)

    def start_primary(self) -> None:
        data = self.folder / "primary"
        self._run(self.bin / "initdb", "-D", data, "-U", "postgres", "-A", "trust",
                  "-E", "UTF8", "--locale=C.UTF-8", "--no-sync")  # fmt: skip
        with (data / "postgresql.conf").open("a") as conf:
            conf.write(PRIMARY_SETTINGS.format(sockets=self.folder))
        self._pg_ctl_start(data, self.primary_port)

    def start_replica(self) -> None:
        """A copy of the primary as it is now, streaming and applying its WAL late."""
        data = self.folder / "replica"
        self._run(self.bin / "pg_basebackup", "-h", "127.0.0.1", "-p", self.primary_port,
                  "-U", "postgres", "-D", data, "-R", "-X", "stream", "-c", "fast",
                  "--no-sync")  # fmt: skip
        with (data / "postgresql.conf").open("a") as conf:
            conf.write(f"recovery_min_apply_delay = '{REPLICA_DELAY_MS}ms'\n")
        self._pg_ctl_start(data, self.replica_port)

    def start_pooler(self) -> None:
        (self.folder / "userlist.txt").write_text('"postgres" ""\n')
        ini = self.folder / "pgbouncer.ini"
        ini.write_text(
            PGBOUNCER_INI.format(
                db=self.name,
                primary=self.primary_port,
                replica=self.replica_port,
                port=self.pooler_port,
                folder=self.folder,
            )
        )
        if self._as_postgres:
            for path in (ini, self.folder / "userlist.txt"):
                shutil.chown(path, "postgres", "postgres")
        with (self.folder / "pgbouncer.out").open("ab") as out:
            self.pooler = subprocess.Popen(
                [pgbouncer_bin() or "pgbouncer", str(ini)],
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=self.folder,
                **self._as_postgres,
            )

    async def create_database(self, name: str | None = None) -> None:
        """An empty database on the primary, once the pooler answers for it."""
        admin = await asyncpg.connect(self.url(self.primary_port, "postgres"))
        try:
            await admin.execute(f'CREATE DATABASE "{name or self.name}"')
        finally:
            await admin.close()
        await self.wait_for(self.url(self.pooler_port, name))

    async def wait_for(self, url: str, seconds: float = 30) -> None:
        deadline = asyncio.get_running_loop().time() + seconds
        while True:
            try:
                connection = await asyncpg.connect(url, timeout=2, statement_cache_size=0)
            except (OSError, asyncpg.PostgresError, TimeoutError):
                if asyncio.get_running_loop().time() > deadline:
                    raise RuntimeError(f"{url} did not answer:\n{self.logs()}") from None
                await asyncio.sleep(0.05)
            else:
                await connection.close()
                return

    def logs(self) -> str:
        texts = [path.read_text(errors="replace")[-2000:] for path in self.folder.glob("*.log")]
        return "\n".join(texts)

    def close(self) -> None:
        if self.pooler is not None:
            self.pooler.terminate()
            try:
                self.pooler.wait(10)
            except subprocess.TimeoutExpired:
                self.pooler.kill()
                self.pooler.wait(5)
        for data in reversed(self.running):
            self._run(self.bin / "pg_ctl", "-D", data, "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.folder, ignore_errors=True)
