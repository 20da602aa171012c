"""The mirror's writers: normalize Shopify payloads into records, then upsert them (guarded by
`updated_at`), keep inventory levels and the order ledger, and refresh what depends on them
(ticket stock, `sold`, the event summaries, the search rows). No HTTP, no commits: callers own
the transaction."""
