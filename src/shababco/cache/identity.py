"""The deployment's identity: the name its shared cache entries, fill locks and doorbell live under.

A database's name says nothing about which deployment it is: staging and production are often
both `shababco`, and a database restored from a backup keeps its name and its change-log
numbers. An entry built by one and read by the other would look fresh (its stamp is a position
in another log), so the shared cache is namespaced by what tells them apart:

- the random id `deployment` receives when the database is first migrated (a database created
  anew gets a new one);
- the cluster's system identifier, set once by `initdb` (a dump restored into another cluster);
- the database's OID (a dump restored into the same cluster under another name);
- the timeline (a point-in-time recovery, a physical copy promoted on its own).

A streaming replica shares all four with its primary, so processes reading from it share the
primary's cache. `CACHE_NAMESPACE` is put in front, for deployments that share even these (two
copies of one physical backup, say).
"""

from __future__ import annotations

import hashlib
import logging
import re

from sqlalchemy import Column, MetaData, Table, func, select, text
from sqlalchemy.dialects.postgresql import OID, UUID
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

log = logging.getLogger(__name__)

# Not on the service's MetaData: the identity is not data, and what empties every table (the
# demo, the tests) must leave it alone. Created, with its one row, by migration 0011.
deployment = Table("deployment", MetaData(), Column("id", UUID(as_uuid=False)))
pg_database = Table(
    "pg_database", MetaData(), Column("oid", OID), Column("datname"), schema="pg_catalog"
)
# Readable by every role on stock PostgreSQL; some hosted services refuse them (then the id and
# the OID must do, with CACHE_NAMESPACE for what they cannot tell apart).
CLUSTER_FACTS = text(
    "SELECT s.system_identifier::text, c.timeline_id::text"
    " FROM pg_control_system() AS s, pg_control_checkpoint() AS c"
)


async def deployment_identity(engine: AsyncEngine) -> str:
    """A short hash naming this deployment's database, the same from its replicas."""
    async with engine.connect() as conn:
        deployment_id = await conn.scalar(select(deployment.c.id))
        if deployment_id is None:
            raise LookupError("the deployment table is empty: run `shababco db upgrade`")
        oid = await conn.scalar(
            select(pg_database.c.oid).where(pg_database.c.datname == func.current_database())
        )
        cluster: tuple[str, ...] = ("", "")
        try:
            cluster = tuple((await conn.execute(CLUSTER_FACTS)).one())
        except DBAPIError as exc:  # last: a failed statement ends the connection's transaction
            log.warning("cluster identity unavailable, using the database's: %s", exc.orig)
    return digest(str(deployment_id), str(oid), *cluster)


def namespace(prefix: str | None, identity: str) -> str:
    """The shared cache's namespace: `CACHE_NAMESPACE` (if any), then the identity."""
    parts = [re.sub(r"[^A-Za-z0-9_.-]", "_", prefix)] if prefix else []
    return ":".join([*parts, identity])


def digest(*facts: str) -> str:
    """16 hex digits of the facts, in order."""
    return hashlib.blake2b("\x1f".join(facts).encode(), digest_size=8).hexdigest()
