"""The simulated Shopify store (SPEC §7): a separate process, the outside world for the app."""
