"""What the `shababco` command runs beyond serving: the demo, `import`, and the store commands
(sync, reconcile, webhook subscriptions). CLI glue: `cli.py` parses, these modules act."""
