"""jobs layer (built by later issues)."""
