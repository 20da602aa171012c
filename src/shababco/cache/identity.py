"""The deployment's identity: the name its shared cache entries, fill locks and doorbell live under.

A database's name says nothing about which deployment it is: staging and production are often
both `shababco`, and a database restored from a backup keeps its name and its change-log
numbers. An entry built by one and read by the other would look fresh (its stamp is a position
in another log), so the shared cache is namespaced by what tells them apart:

- the random id `deployment` receives when the database is first migrated (a database created
  anew gets a new one);
- the change log's table OID: the log's epoch (a dump restored over the database, in place,
  creates the table, and its sequence numbers, anew);
- the database's OID (a dump restored into the same cluster under another name);
- the cluster's system identifier, set once by `initdb` (a dump restored into another cluster);
- the timeline (a point-in-time recovery, a physical copy promoted on its own).

A streaming replica shares all five with its primary, so processes reading from it share the
primary's cache. `CACHE_NAMESPACE` is put in front, for deployments that share even these (two
copies of one physical backup, say).
"""

from __future__ import annotations

import hashlib
import logging
import re

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

log = logging.getLogger(__name__)

# `deployment` is not on the service's MetaData: the identity is not data, and what empties
# every table (the demo, the tests) must leave it alone. Created, with its row, by migration 0011.
DATABASE_FACTS = text(
    "SELECT d.id::text, 'cache_changes'::regclass::oid::text,"
    " (SELECT oid FROM pg_database WHERE datname = current_database())::text"
    " FROM deployment AS d"
)
# Readable by every role on stock PostgreSQL; some hosted services refuse them (then the
# database's facts must do, with CACHE_NAMESPACE for what they cannot tell apart).
CLUSTER_FACTS = text(
    "SELECT s.system_identifier::text, c.timeline_id::text"
    " FROM pg_control_system() AS s, pg_control_checkpoint() AS c"
)


async def deployment_identity(engine: AsyncEngine) -> str:
    """A short hash naming this deployment's database and change log, the same from replicas."""
    async with engine.connect() as conn:
        database = (await conn.execute(DATABASE_FACTS)).one_or_none()
        if database is None:
            raise LookupError("the deployment table is empty: run `shababco db upgrade`")
        cluster: tuple[str, ...] = ("", "")
        try:
            cluster = tuple((await conn.execute(CLUSTER_FACTS)).one())
        except DBAPIError as exc:  # last: a failed statement ends the connection's transaction
            log.warning("cluster identity unavailable, using the database's: %s", exc.orig)
    return digest(*database, *cluster)


def namespace(prefix: str | None, identity: str) -> str:
    """The shared cache's namespace: `CACHE_NAMESPACE` (if any), then the identity."""
    parts = [re.sub(r"[^A-Za-z0-9_.-]", "_", prefix)] if prefix else []
    return ":".join([*parts, identity])


def digest(*facts: str) -> str:
    """16 hex digits of the facts, in order."""
    return hashlib.blake2b("\x1f".join(facts).encode(), digest_size=8).hexdigest()
