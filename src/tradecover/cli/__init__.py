"""Command line (Typer + Rich): thin over the use cases."""
