"""risk layer (built by later issues)."""
