"""HTTP API (FastAPI): thin routes over the use cases."""
