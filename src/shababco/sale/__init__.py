"""The flash sale: live availability pushed to watchers, and a checked hand-off to checkout.

routes (`GET /events/{id}/live`, `POST /checkout`) → live (the hub: one per process, on the
cache's change-log follower) → subscriber (one stream's queue and its sending) ← stream (the
Server-Sent Events response, and `StreamingApp`, the app class that follows streams outside the
framework's call); availability (the statements and the messages' bytes); checkout (the order's
checks and Shopify's cart permalink); schemas. Imports catalog (the read side's tables and
predicates) and cache; nothing imports it but the app.
"""
