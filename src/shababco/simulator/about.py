"""What `/_simulator/docs` tells a reader: where Shopify's APIs are, and where this differs."""

from __future__ import annotations

DESCRIPTION = """
A stand-in for one Shopify store. Shopify's own APIs are served under `/admin/api/{version}/`
and need the header `X-Shopify-Access-Token` (the token the simulator was started with; the
demo keeps it in `.data/demo/simulator.env`). This page documents only the **control API**
below, which Shopify has no counterpart for.

**Change the store** through Shopify's Admin GraphQL API,
`POST /admin/api/2026-07/graphql.json` with a JSON body `{"query": ..., "variables": ...}`:

```
curl -s http://127.0.0.1:8081/admin/api/2026-07/graphql.json \\
  -H "X-Shopify-Access-Token: $SHOPIFY_ACCESS_TOKEN" -H "Content-Type: application/json" \\
  -d '{"query": "mutation { productUpdate(product: {id: \\"gid://shopify/Product/ID\\",
       title: \\"New title\\"}) { product { title } userErrors { field message } } }"}'
```

Every request is validated against Shopify's real 2026-07 schema and priced by its cost rules.
The mutations served: `productSet`, `productUpdate`, `productDelete`, `metafieldsSet`,
`inventorySetQuantities`, `orderCreate`, `orderCancel`, `refundCreate`,
`webhookSubscriptionCreate`, `webhookSubscriptionDelete`, `bulkOperationRunQuery`; each fires
the webhooks Shopify fires for it.

**Where the simulator differs from Shopify on purpose**

- It executes the part of the schema this project and merchants' tools use. A field that is
  valid in Shopify's schema but not served answers a GraphQL error with code
  `UNSUPPORTED_BY_SIMULATOR` and the field's `typeName` and `fieldName`; Shopify would answer it.
- REST is read-only and limited to what the old architecture read: `GET products.json`
  (`ids`, `fields`, `status`, `since_id`, `limit`, `page_info` with `Link` headers),
  `GET products/count.json`, `GET products/{id}.json` (`fields`) and `GET shop.json`. Every other
  REST route or method (variants, orders, webhooks, and every write such as `PUT
  products/{id}.json`) answers `404 {"errors": "Not Found"}`, as Shopify answers a route it
  does not have. Change the store through GraphQL instead.
- One access token with every scope; no OAuth, no app installation, no API version sunset: any
  `{version}` in the path is served with the 2026-07 schema.
- Bulk operation results are downloaded from this process (`/_simulator/bulk/…`, signed like
  Shopify's storage URLs) rather than from cloud storage.
- Webhook retries follow Shopify's schedule times the retry time scale (`--retry-time-scale`,
  `PUT /_simulator/retry-time-scale`), and chaos settings can duplicate, reorder, drop or
  delay deliveries; REST calls can be slowed with `--latency`. Shopify has none of these knobs.
- The shop sells in SAR from Asia/Riyadh; ids are generated from the seed (`--seed`), so a run
  is reproducible.
"""
