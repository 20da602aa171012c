"""The Admin API as this service uses it: a throttle-aware GraphQL client, the documents it
sends, product pages and bulk operations. Knows nothing of the mirror."""
