"""web layer (built by later issues)."""
