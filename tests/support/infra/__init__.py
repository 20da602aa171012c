"""What tests start beside the app: server processes, a PostgreSQL fault proxy, a production
topology, a read load."""
