"""Bringing the mirror to the store's state: the full sync (bulk operation or pages, resumable),
reconciliation (changed since the last pass, deletions, inventory, orders), its schedule in
`serve` (one process at a time) and the state both keep between runs."""
