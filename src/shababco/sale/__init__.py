"""The flash sale: live availability pushed to watchers, and a checked hand-off to checkout.

routes (`GET /events/{id}/live`, `POST /checkout`) → live (the hub: one per process, on the
cache's change-log follower) → stream (one Server-Sent Events response per watcher);
availability (the statements and the messages' bytes); checkout (the order's checks and
Shopify's cart permalink); schemas. Imports catalog (the read side's tables and predicates) and
cache; nothing imports it but the app.
"""
