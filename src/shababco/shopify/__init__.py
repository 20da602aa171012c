"""The write side: everything that talks to the store or changes the mirror, by flow.

- `admin/`: the Admin GraphQL client and what it sends (documents, product pages, bulk operations).
- `webhooks/`: intake (`POST /webhooks/...`: verify, store, acknowledge), the inbox worker that
  applies stored deliveries, product refetch, the topic table, webhook subscriptions.
- `mirror/`: payload → records (products, orders, refunds, inventory levels) → rows; the order
  ledger behind `sold`. Pure database writers: no HTTP.
- `sync/`: the full sync, reconciliation (one process at a time), its schedule and saved state.
- `models.py` (the tables of these flows) and `payloads.py` (readers of Shopify's payload fields)
  are shared by all four.

Imports point one way: `webhooks` and `sync` use `admin` and `mirror`; `mirror` uses neither;
nothing here imports `commands`, and `catalog` (the read side) never imports this package.
"""
