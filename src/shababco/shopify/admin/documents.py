"""Every GraphQL document the client sends, as constants (a test validates each one against
Shopify's 2026-07 schema and checks its requested cost stays under 1,000 points).

Page sizes are chosen for the cost limit: a paged product with its nested connections costs
about 180 requested points, so five fit in one query. Products whose nested lists are longer
than these pages are fetched again one by one (`PRODUCT_DETAIL`, `PRODUCT_VARIANTS`).
"""

from __future__ import annotations

PRODUCTS_PAGE_SIZE = 5
PRODUCT_IDS_PAGE_SIZE = 250
PRODUCTS_BY_ID_BATCH = 5
ORDERS_PAGE_SIZE = 8
SUBSCRIPTIONS_PAGE_SIZE = 100

_PRODUCT_SCALARS = "id title handle status productType tags descriptionHtml createdAt updatedAt"
_METAFIELD = "namespace key value type"
_MEDIA_IMAGE = "... on MediaImage { id alt image { url altText width height } }"
_LEVEL = 'location { id } quantities(names: ["available"]) { name quantity } updatedAt'
_VARIANT_SCALARS = (
    "id title price compareAtPrice position sku inventoryQuantity updatedAt "
    "selectedOptions { name value }"
)


def _variant(metafields: int, levels: int) -> str:
    return f"""{_VARIANT_SCALARS}
        metafields(first: {metafields}) {{ pageInfo {{ hasNextPage }} nodes {{ {_METAFIELD} }} }}
        inventoryItem {{ id inventoryLevels(first: {levels}) {{
          pageInfo {{ hasNextPage }} nodes {{ {_LEVEL} }} }} }}"""


# One product with short nested pages; `pageInfo` says when a list did not fit.
_PRODUCT_NODE = f"""{_PRODUCT_SCALARS}
      metafields(first: 10) {{ pageInfo {{ hasNextPage }} nodes {{ {_METAFIELD} }} }}
      media(first: 5) {{ pageInfo {{ hasNextPage }} nodes {{ {_MEDIA_IMAGE} }} }}
      variants(first: 6) {{ pageInfo {{ hasNextPage }} nodes {{ {_variant(5, 3)} }} }}"""

PRODUCTS_PAGE = f"""query SyncProducts($first: Int!, $after: String, $query: String,
    $sortKey: ProductSortKeys!) {{
  products(first: $first, after: $after, query: $query, sortKey: $sortKey) {{
    pageInfo {{ hasNextPage endCursor }}
    nodes {{ {_PRODUCT_NODE} }}
  }}
}}"""

PRODUCTS_BY_ID = f"""query ProductsById($ids: [ID!]!) {{
  nodes(ids: $ids) {{ ... on Product {{ {_PRODUCT_NODE} }} }}
}}"""

PRODUCT_DETAIL = f"""query ProductDetail($id: ID!) {{
  product(id: $id) {{
    {_PRODUCT_SCALARS}
    metafields(first: 100) {{ pageInfo {{ hasNextPage }} nodes {{ {_METAFIELD} }} }}
    media(first: 50) {{ pageInfo {{ hasNextPage }} nodes {{ {_MEDIA_IMAGE} }} }}
  }}
}}"""

PRODUCT_VARIANTS = f"""query ProductVariants($id: ID!, $after: String) {{
  product(id: $id) {{
    variants(first: 8, after: $after) {{
      pageInfo {{ hasNextPage endCursor }}
      nodes {{ {_variant(25, 25)} }}
    }}
  }}
}}"""

PRODUCT_IDS = """query ProductIds($first: Int!, $after: String) {
  products(first: $first, after: $after, sortKey: ID) {
    pageInfo { hasNextPage endCursor }
    nodes { id updatedAt }
  }
}"""

# The currency every price the Admin API reports is in (variant `price` is "in the default
# shop currency").
SHOP_CURRENCY = "query ShopCurrency { shop { currencyCode } }"

ORDERS_COUNT = """query OrdersCount {
  ordersCount(limit: null) { count precision }
}"""

PRODUCTS_COUNT = """query ProductsCount($query: String) {
  productsCount(query: $query, limit: null) { count precision }
}"""

# Bulk queries: at most five connections, nested at most two levels deep (Shopify's limits),
# so the catalog and its inventory levels are two operations.
BULK_CATALOG = f"""{{
  products {{ edges {{ node {{
    {_PRODUCT_SCALARS}
    metafields {{ edges {{ node {{ id {_METAFIELD} }} }} }}
    media {{ edges {{ node {{ {_MEDIA_IMAGE} }} }} }}
    variants {{ edges {{ node {{
      {_VARIANT_SCALARS} inventoryItem {{ id }}
      metafields {{ edges {{ node {{ id {_METAFIELD} }} }} }}
    }} }} }}
  }} }} }}
}}"""

BULK_INVENTORY = f"""{{
  products {{ edges {{ node {{ id
    variants {{ edges {{ node {{ id inventoryItem {{ id
      inventoryLevels {{ edges {{ node {{ id item {{ id }} {_LEVEL} }} }} }}
    }} }} }} }}
  }} }} }}
}}"""

BULK_RUN = """mutation BulkRun($query: String!) {
  bulkOperationRunQuery(query: $query) {
    bulkOperation { id status createdAt }
    userErrors { field message code }
  }
}"""

BULK_STATUS = """query BulkStatus($id: ID!) {
  bulkOperation(id: $id) {
    id status errorCode createdAt completedAt objectCount rootObjectCount url
  }
}"""

# RefundLineItem.id is nullable in the schema (and the simulator does not serve it): a refund
# line is identified by its refund and line item instead.
_ORDER_LINE = "id quantity variant { id }"
_REFUND_LINE = "quantity lineItem { id variant { id } }"

ORDERS_PAGE = f"""query SyncOrders($first: Int!, $after: String, $query: String) {{
  orders(first: $first, after: $after, query: $query, sortKey: UPDATED_AT) {{
    pageInfo {{ hasNextPage endCursor }}
    nodes {{
      id updatedAt cancelledAt
      lineItems(first: 20) {{ pageInfo {{ hasNextPage }} nodes {{ {_ORDER_LINE} }} }}
      refunds(first: 10) {{ id refundLineItems(first: 20) {{
        pageInfo {{ hasNextPage }} nodes {{ {_REFUND_LINE} }} }} }}
    }}
  }}
}}"""

ORDER_LINES = f"""query OrderLines($id: ID!, $after: String) {{
  order(id: $id) {{
    lineItems(first: 250, after: $after) {{
      pageInfo {{ hasNextPage endCursor }} nodes {{ {_ORDER_LINE} }}
    }}
  }}
}}"""

ORDER_REFUNDS = f"""query OrderRefunds($id: ID!) {{
  order(id: $id) {{
    refunds(first: 250) {{ id refundLineItems(first: 250) {{
      pageInfo {{ hasNextPage }} nodes {{ {_REFUND_LINE} }} }} }}
  }}
}}"""

SUBSCRIPTIONS_PAGE = """query Subscriptions($first: Int!, $after: String) {
  webhookSubscriptions(first: $first, after: $after) {
    pageInfo { hasNextPage endCursor }
    nodes { id topic uri format metafieldNamespaces createdAt }
  }
}"""

SUBSCRIPTION_CREATE = """mutation SubscriptionCreate($topic: WebhookSubscriptionTopic!,
    $subscription: WebhookSubscriptionInput!) {
  webhookSubscriptionCreate(topic: $topic, webhookSubscription: $subscription) {
    webhookSubscription { id topic uri format metafieldNamespaces createdAt }
    userErrors { field message }
  }
}"""

SUBSCRIPTION_DELETE = """mutation SubscriptionDelete($id: ID!) {
  webhookSubscriptionDelete(id: $id) {
    deletedWebhookSubscriptionId
    userErrors { field message }
  }
}"""

ALL_DOCUMENTS = {
    name: value
    for name, value in dict(globals()).items()
    if name.isupper() and isinstance(value, str) and value.lstrip().startswith(("query", "mut"))
}
BULK_DOCUMENTS = {"BULK_CATALOG": BULK_CATALOG, "BULK_INVENTORY": BULK_INVENTORY}
