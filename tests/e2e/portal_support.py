"""What the portal's page tests share: the CSRF token of a form, logging in, reading a page."""

from __future__ import annotations

import re

from api_world import PASSWORD
from fastapi.testclient import TestClient

CSRF_INPUT = re.compile(r'<input type="hidden" name="csrf_token" value="([0-9a-f]{64})">')


def csrf_token(html: str) -> str:
    found = CSRF_INPUT.search(html)
    assert found, "no CSRF hidden input on the page"
    return found.group(1)


def log_in(client: TestClient, email: str) -> None:
    token = csrf_token(client.get("/login").text)
    response = client.post("/login", data={"email": email, "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 303


def page(client: TestClient, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, response.text
    return response.text
