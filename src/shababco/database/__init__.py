"""The database layer: the ORM base and shared column types (`core`), engines and pools
(`engines`), the embedded PostgreSQL of the default set-up (`embedded`), migrations (`migrate`).
Imports nothing of the domain packages."""
