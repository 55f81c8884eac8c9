"""ingest layer (built by later issues)."""
