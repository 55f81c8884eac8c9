"""Foundation benchmarks: demo-book load rate and authenticated API throughput.

Run on demand (``make benchmarks`` or ``python -m benchmarks``); prints figures and
ratios, asserts nothing. Uses a throw-away SQLite database in a temporary folder.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from fastapi.testclient import TestClient

from tradecover.api.app import create_app
from tradecover.bootstrap import build
from tradecover.config import Environment, Settings
from tradecover.persistence.migrate import upgrade
from tradecover.services.demo_book import DEMO_PASSWORD, load_demo_book


def _timed(action: Callable[[], object], repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return times


def main(buyers: int = 1000, requests: int = 300) -> None:
    with tempfile.TemporaryDirectory() as folder:
        settings = Settings(database_url=f"sqlite:///{Path(folder) / 'bench.db'}", environment=Environment.TEST)
        container = build(settings)
        upgrade(container.engine)
        start = time.perf_counter()
        load_demo_book(container.uow, container.clock, buyers_count=buyers)
        load_seconds = time.perf_counter() - start
        print(f"demo load: {buyers} buyers in {load_seconds:.2f} s = {buyers / load_seconds:.0f} buyers/s")

        with TestClient(create_app(container=container)) as client:
            token = client.post(
                "/api/v1/auth/token",
                data={"username": "metallerie@demo.tradecover.fr", "password": DEMO_PASSWORD},
            ).json()["access_token"]
            jwt_headers = {"Authorization": f"Bearer {token}"}
            key = client.post("/api/v1/api-keys", json={"name": "bench"}, headers=jwt_headers).json()["token"]
            key_headers = {"X-API-Key": key}

            def get(headers: dict[str, str], path: str) -> Callable[[], object]:
                return lambda: client.get(path, headers=headers).raise_for_status()

            figures = {}
            for label, headers in (("JWT", jwt_headers), ("API key", key_headers)):
                for path in ("/api/v1/policies", "/api/v1/buyers?limit=100"):
                    times = _timed(get(headers, path), requests)
                    figures[(label, path)] = statistics.median(times)
                    print(
                        f"GET {path:<26} {label:<8} median {statistics.median(times) * 1000:6.2f} ms, "
                        f"p95 {sorted(times)[int(0.95 * len(times))] * 1000:6.2f} ms"
                    )
            for path in ("/api/v1/policies", "/api/v1/buyers?limit=100"):
                ratio = figures[("API key", path)] / figures[("JWT", path)]
                print(f"ratio API key / JWT on {path}: {ratio:.2f}")
        container.dispose()


if __name__ == "__main__":
    main()
