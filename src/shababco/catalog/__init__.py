"""The read side: the public read endpoints over the PostgreSQL mirror of the catalog.

Imports point down: routes → listing (list pages, counts), search (its entry point picks the
postings or the GIN path; tsquery builds the lexicon CTE; words normalizes text), detail (an
event, its tickets, where an old handle moved, the categories) → filters, columns (shared column
lists, visibility, sort keys) → run (the one executor: SQL compiled once) → the database. Beside
them: inputs (the list's query parameters as FastAPI reads and documents them), params (validated
parameters, their defaults, the cursor), keys (the cache key function app.py hands the cache),
schemas (the representations and every documented answer), models (the tables, shared with the
writers).
"""
