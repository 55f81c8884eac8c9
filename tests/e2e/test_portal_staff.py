"""The portal's staff pages through the app factory: a referral's file and decision (four eyes included),
the loss model run in the background with its charts, the audit chain's verification.

The API world (api_world.py) with its receivables; runs on SQLite and, when configured, PostgreSQL.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta

import pytest
from api_world import PASSWORD, World, add_receivables, build_world
from fastapi.testclient import TestClient
from portal_support import csrf_token

from tradecover.api.app import create_app
from tradecover.bootstrap import Container
from tradecover.services import credit_limits
from tradecover.services.authorization import system_actor

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def staff_world(container: Container) -> World:
    return add_receivables(container, build_world(container))


@pytest.fixture
def client(container: Container, staff_world: World) -> Iterator[TestClient]:
    with TestClient(create_app(container=container), follow_redirects=False) as opened:
        yield opened


def log_in(client: TestClient, email: str) -> None:
    client.cookies.clear()
    token = csrf_token(client.get("/login?lang=en").text)  # English from then on (the cookie)
    response = client.post("/login", data={"email": email, "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 303, response.text


def referral(container: Container, world: World, amount: str) -> str:
    """A request above the automatic ceiling, on a buyer with the capacity to grant it."""
    clock = container.clock
    clock.advance(timedelta(seconds=1))  # type: ignore[attr-defined]
    insurer = system_actor(world.insurer_id)
    with container.uow() as uow:
        credit_limits.set_capacity(uow, clock, insurer, world.buyer_a, amount="2000000", reason="group guarantee")
    with container.uow() as uow:
        outcome = credit_limits.request_limit(
            uow, clock, insurer, policy_id=world.policy_a, buyer_id=world.buyer_a, amount=amount
        )
    assert outcome.request.state.value == "referred"
    return outcome.request.id


def decide(client: TestClient, request_id: str, **fields: str) -> tuple[int, str]:
    token = csrf_token(client.get(f"/referrals/{request_id}").text)
    response = client.post(f"/referrals/{request_id}/decision", data={"csrf_token": token, **fields})
    if response.status_code == 303:
        assert response.headers["location"] == f"/referrals/{request_id}"
        page = client.get(response.headers["location"])
        return page.status_code, page.text
    return response.status_code, response.text


# --- Referrals ----------------------------------------------------------------------------------------------


def test_the_underwriter_opens_a_referral_from_the_queue_and_grants_it(
    client: TestClient, container: Container, staff_world: World
) -> None:
    request_id = referral(container, staff_world, "200000")
    log_in(client, staff_world.emails["underwriter"])
    queue = client.get("/referrals?lang=en")
    assert f'href="/referrals/{request_id}"' in queue.text
    file = client.get(f"/referrals/{request_id}")
    assert file.status_code == 200, file.text
    html = file.text
    assert 'id="buyer-grade">4<' in html
    assert 'id="requested-amount"' in html
    assert "200,000.00" in html
    assert 'id="held-on-buyer"' in html
    assert 'id="decision-form"' in html
    assert 'id="decision"' not in html

    status, html = decide(client, request_id, decision="grant", amount="150000", reason="good payer")
    assert status == 200
    assert '<div id="decision" class="notice" role="status">' in html
    assert "Granted: €150,000.00." in html
    assert 'id="decision-form"' not in html
    with container.uow() as uow:
        decided = uow.limits.get_request(request_id)
    assert decided is not None
    assert (decided.state.value, str(decided.granted.amount if decided.granted else None)) == ("decided", "150000.00")


def test_the_referral_page_is_in_french_by_default(
    client: TestClient, container: Container, staff_world: World
) -> None:
    request_id = referral(container, staff_world, "200000")
    log_in(client, staff_world.emails["underwriter"])
    client.cookies.delete("tc_lang")
    html = client.get(f"/referrals/{request_id}?lang=fr").text
    assert "Enregistrer la décision" in html
    status, html = decide(client, request_id, decision="refuse", reason="weak balance sheet")
    assert status == 200
    assert "Refusée." in html


def test_above_the_four_eyes_threshold_a_second_underwriter_confirms(
    client: TestClient, container: Container, staff_world: World
) -> None:
    request_id = referral(container, staff_world, "600000")
    log_in(client, staff_world.emails["underwriter"])
    status, html = decide(client, request_id, decision="grant", amount="", reason="strong balance sheet")
    assert status == 200
    assert '<div id="decision" class="notice" role="status">' in html
    assert "Awaiting a second underwriter." in html
    assert 'id="decision-form"' in html

    status, html = decide(client, request_id, decision="grant", amount="", reason="again")
    assert status == 403
    assert 'role="alert"' in html
    assert "the second approval must come from another underwriter" in html

    log_in(client, staff_world.emails["admin"])
    status, html = decide(client, request_id, decision="grant", amount="", reason="confirmed")
    assert status == 200
    assert "Granted: €600,000.00." in html


def test_a_decision_the_service_refuses_is_shown_as_an_alert(
    client: TestClient, container: Container, staff_world: World
) -> None:
    request_id = referral(container, staff_world, "200000")
    log_in(client, staff_world.emails["underwriter"])
    status, html = decide(client, request_id, decision="grant", amount="250000", reason="more")
    assert status == 422
    assert '<div id="decision-error" class="notice notice-error" role="alert">' in html
    assert "the insurer does not grant more than was asked" in html
    status, html = decide(client, request_id, decision="grant", amount="lots", reason="more")
    assert status == 422
    assert "the amount is not a number" in html
    status, html = decide(client, request_id, decision="grant", amount="1000", reason="   ")
    assert status == 422
    assert "a reason is required" in html


def test_unknown_referrals_are_404_and_other_roles_403(
    client: TestClient, container: Container, staff_world: World
) -> None:
    request_id = referral(container, staff_world, "200000")
    assert client.get(f"/referrals/{request_id}").headers["location"] == "/login"
    log_in(client, staff_world.emails["underwriter"])
    assert client.get("/referrals/no-such-request").status_code == 404
    for role in ("insured_user", "broker_user", "claims_handler"):
        log_in(client, staff_world.emails[role])
        response = client.get(f"/referrals/{request_id}")
        assert response.status_code == 403, role
        token = csrf_token(response.text)
        posted = client.post(
            f"/referrals/{request_id}/decision", data={"csrf_token": token, "decision": "refuse", "reason": "x"}
        )
        assert posted.status_code == 403, role


def test_a_decision_without_the_csrf_token_is_refused(
    client: TestClient, container: Container, staff_world: World
) -> None:
    request_id = referral(container, staff_world, "200000")
    log_in(client, staff_world.emails["underwriter"])
    client.get(f"/referrals/{request_id}")
    for token in ("", "0" * 64):
        response = client.post(
            f"/referrals/{request_id}/decision", data={"csrf_token": token, "decision": "refuse", "reason": "x"}
        )
        assert response.status_code == 403
        assert 'id="page-title"' in response.text
    with container.uow() as uow:
        still = uow.limits.get_request(request_id)
    assert still is not None
    assert still.state.value == "referred"


# --- The loss model -------------------------------------------------------------------------------------------


def test_the_risk_manager_runs_the_loss_model_in_the_background(client: TestClient, staff_world: World) -> None:
    log_in(client, staff_world.emails["risk_manager"])
    form = client.get("/portfolio/loss?lang=en")
    assert form.status_code == 200
    token = csrf_token(form.text)
    refused = client.post(
        "/portfolio/loss", data={"csrf_token": token, "scenarios": "20001", "seed": "1", "model": "mc"}
    )
    assert refused.status_code == 422
    assert 'role="alert"' in refused.text
    assert client.post("/portfolio/loss", data={"scenarios": "2000", "seed": "1", "model": "mc"}).status_code == 403

    started = client.post(
        "/portfolio/loss", data={"csrf_token": token, "scenarios": "2000", "seed": "3", "model": "mc"}
    )
    assert started.status_code == 303
    location = started.headers["location"]
    assert location.startswith("/portfolio/loss/")
    deadline = time.monotonic() + 60
    while True:
        html = client.get(location).text
        if '<meta http-equiv="refresh"' not in html:
            break
        assert "<progress" in html
        assert time.monotonic() < deadline, "the run did not finish"
        time.sleep(0.1)
    assert 'role="alert"' not in html
    assert 'id="expected-loss"' in html
    assert "99.5%" in html
    for chart in ("distribution", "contributions"):
        assert f'src="{location}/{chart}.png"' in html
        image = client.get(f"{location}/{chart}.png")
        assert image.status_code == 200
        assert image.headers["content-type"] == "image/png"
        assert image.content.startswith(PNG)

    assert client.get("/portfolio/loss/no-such-job").status_code == 404
    log_in(client, staff_world.emails["insured_user"])
    assert client.get("/portfolio/loss").status_code == 403
    assert client.get(location).status_code == 403
    assert client.get(f"{location}/distribution.png").status_code == 403


# --- The audit chain ------------------------------------------------------------------------------------------


def test_the_admin_verifies_the_audit_chain(client: TestClient, staff_world: World) -> None:
    log_in(client, staff_world.emails["admin"])
    page = client.get("/audit?lang=en")
    assert page.status_code == 200
    assert 'id="audit-result"' not in page.text
    assert client.post("/audit/verify", data={"csrf_token": ""}).status_code == 403
    verified = client.post("/audit/verify", data={"csrf_token": csrf_token(page.text)})
    assert verified.status_code == 200
    assert '<div id="audit-result" class="notice" role="status">' in verified.text
    assert "The audit chain is intact." in verified.text
    log_in(client, staff_world.emails["underwriter"])
    assert client.get("/audit").status_code == 403
