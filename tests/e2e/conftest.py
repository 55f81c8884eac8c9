"""Fixtures for the API tests; the world itself is built in api_world.py."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from api_world import World, build_world, login
from fastapi.testclient import TestClient

from tradecover.api.app import create_app
from tradecover.bootstrap import Container


@pytest.fixture
def app_client(container: Container) -> Iterator[TestClient]:
    with TestClient(create_app(container=container), raise_server_exceptions=False) as client:
        yield client


@pytest.fixture
def world(container: Container) -> World:
    return build_world(container)


@pytest.fixture
def headers(app_client: TestClient, world: World) -> dict[str, dict[str, str]]:
    return {name: login(app_client, email) for name, email in world.emails.items()}
