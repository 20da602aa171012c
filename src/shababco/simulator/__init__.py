"""The simulated Shopify store: a separate process, the outside world for the app."""
