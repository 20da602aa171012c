"""The two-tier response cache: final response bytes, invalidated precisely.

Tiers. L1 is a per-process LRU bounded by entries and bytes; L2 is Redis (`REDIS_URL`, optional).
Both hold the response body as sent, its ETag (a hash of the body, so identical everywhere) and
the change-log position it was built at. A route serializes once per fill; an L1 hit is answered
by `CacheMiddleware` in front of FastAPI, from headers prepared when the entry was made.

Invalidation. Writers commit, then append one row to `cache_changes` (`changes.ChangeFeed`):
the event ids they changed and whether listings may have moved. An advisory lock makes row
numbers follow commit order, so "I have seen row N" means "the data of rows ≤ N is committed".
Every process follows that log (one primary-key range read every 0.5 s, and at once when rung
through Redis pub/sub, which the writer does after appending) and keeps, per event and for the
listings, the newest row that touched them (`Generations`). An entry is fresh while its stamp
(the newest row its builder had seen before querying) is at least the newest row touching what
it depends on: one event for details and tickets, the listings for lists, search and categories.
Entries are never deleted by writers; stale ones are simply not served, so L2 entries built by
any process are judged the same way everywhere, with no KEYS or SCAN and no Redis round trip to
validate. TTLs (CACHE_TTL_LIST / CACHE_TTL_DETAIL) are only a safety net.

Why the log is in PostgreSQL. Freshness must not depend on Redis: with Redis down, the 0.5 s
poll still makes every change visible in every process within about half a second. Pub/sub is
only the doorbell that brings that to milliseconds. A process that starts ignores L2 entries
built before it could follow the log (`floor`).

Identity. L2 keys, fill locks and the doorbell channel are named after the deployment
(`identity`: a random id stored by the first migration, the change log's epoch, the database
and cluster it lives in), so deployments sharing a Redis never judge each other's stamps.

Single flight. In a process, concurrent misses on a key make one fill: the first request runs
it, the others await its outcome (if its client leaves mid-fill, a waiter fills). Across processes
the filler takes `SET NX PX` on the key's lock; others poll L2 briefly and fill themselves only
if the lock holder vanished.

Degraded mode. Redis calls have 100 ms timeouts and no retries; a failure marks Redis down,
reads continue from L1 and PostgreSQL, `/ready` says `degraded`, and a background ping (with
backoff) and the pub/sub loop reconnect and resubscribe on their own.
"""
