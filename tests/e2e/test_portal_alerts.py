"""The insured's alerts in the portal: act on them, set the thresholds, subscribe e-mail and webhook targets.

The world (api_world.py, with its receivables) gives insured A two open alerts (a buyer downgraded, a limit
revised on its policy) and an e-mail subscription with one delivery queued; B the same. Runs on SQLite and, when
configured, PostgreSQL.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from decimal import Decimal

import pytest
from api_world import READ_ONLY_BROKER, World, add_receivables, build_world
from fastapi.testclient import TestClient
from portal_support import csrf_token, log_in, page

from tradecover.api.app import create_app
from tradecover.bootstrap import Container
from tradecover.domain.monitoring import AlertState
from tradecover.services.ledger_ports import AlertPreferences


@pytest.fixture
def world(container: Container) -> World:
    return add_receivables(container, build_world(container))


@pytest.fixture
def client(container: Container, world: World) -> Iterator[TestClient]:
    with TestClient(create_app(container=container), follow_redirects=False) as opened:
        yield opened


def state_of(container: Container, alert_id: str) -> AlertState:
    with container.uow() as uow:
        alert = uow.alerts.get(alert_id)
    assert alert is not None
    return alert.state


def preferences_of(container: Container, policy_id: str) -> AlertPreferences:
    with container.uow() as uow:
        return uow.alerts.preferences(policy_id)


def active_targets(container: Container, policy_id: str) -> list[str]:
    with container.uow() as uow:
        return sorted(s.target for s in uow.alerts.subscriptions(policy_id) if s.active)


def test_the_insured_marks_alerts_seen_then_closed(client: TestClient, container: Container, world: World) -> None:
    log_in(client, world.emails["insured_user"])
    html = page(client, "/alerts?lang=en")
    assert 'id="nav-alerts" aria-current="page"' in html
    opened = html.split('id="open-alerts"')[1].split("</section>")[0]
    limit_alert = world.ledger("a").alert_id
    assert f'id="alert-{world.alert_a}"' in opened
    assert f'id="alert-{limit_alert}"' in opened
    assert "world alert of a" in opened
    assert "Credit limit revised" in opened
    assert "Buyer of A" in opened
    assert world.alert_b not in html
    assert "world alert of b" not in html
    token = csrf_token(html)

    url = f"/alerts/{limit_alert}/state"
    assert client.post(url, data={"state": "seen"}).status_code == 403  # no CSRF token
    assert state_of(container, limit_alert) is AlertState.NEW
    moved = client.post(url, data={"state": "seen", "csrf_token": token})
    assert moved.status_code == 303
    assert moved.headers["location"] == "/alerts"
    assert state_of(container, limit_alert) is AlertState.SEEN
    seen = page(client, "/alerts?lang=en").split(f'id="alert-{limit_alert}"')[1].split("</li>")[0]
    assert 'data-move="seen"' not in seen
    assert 'data-move="closed"' in seen
    assert ">Seen<" in seen
    assert client.post(url, data={"state": "closed", "csrf_token": token}).status_code == 303
    after = page(client, "/alerts?lang=fr")
    assert f'id="alert-{limit_alert}"' not in after  # no longer open
    assert f'data-alert-id="{limit_alert}"' in after.split('id="closed-alerts"')[1]
    assert "Alertes closes" in after
    assert "Marquer comme vue" in after
    # A closed alert stays closed; another insured's alert is not found; a made-up state is refused.
    assert client.post(url, data={"state": "seen", "csrf_token": token}).status_code == 400
    assert (
        client.post(f"/alerts/{world.alert_b}/state", data={"state": "closed", "csrf_token": token}).status_code == 404
    )
    assert state_of(container, world.alert_b) is AlertState.NEW
    assert client.post(f"/alerts/{world.alert_a}/state", data={"state": "gone", "csrf_token": token}).status_code == 400
    assert state_of(container, world.alert_a) is AlertState.NEW


def test_the_insured_sets_its_thresholds_and_bad_values_are_shown(
    client: TestClient, container: Container, world: World
) -> None:
    log_in(client, world.emails["insured_user"])
    html = page(client, "/alerts/settings?lang=en")
    form = re.search(r'<form id="preferences-form".*?</form>', html, re.S)
    assert form, html
    assert 'value="80"' in form.group(0)
    assert 'value="15"' in form.group(0)
    token = csrf_token(html)

    def save(share: str, days: str, *, with_token: bool = True) -> str:
        data = {"policy": world.policy_a, "utilisation_threshold": share, "deadline_warning_days": days}
        if with_token:
            data["csrf_token"] = token
        response = client.post("/alerts/settings/preferences?lang=en", data=data)
        return f"{response.status_code} {response.headers.get('location', '')} {response.text}"

    saved = save("90", "10")
    assert saved.startswith(f"303 /alerts/settings?policy={world.policy_a}&saved=preferences")
    assert preferences_of(container, world.policy_a) == AlertPreferences(Decimal("0.9"), 10)
    assert 'id="settings-saved"' in page(client, f"/alerts/settings?policy={world.policy_a}&saved=preferences")
    for share, days, field, message in (
        ("150", "10", "utilisation_threshold", "between 5 and 100 percent"),
        ("2", "10", "utilisation_threshold", "between 5 and 100 percent"),
        ("lots", "10", "utilisation_threshold", "between 5 and 100 percent"),
        ("85", "120", "deadline_warning_days", "between 0 and 90"),
        ("85", "soon", "deadline_warning_days", "between 0 and 90"),
    ):
        refused = save(share, days)
        assert refused.startswith("422 "), (share, days)
        assert '<div role="alert" id="preferences-error">' in refused
        assert message in refused
        assert f'name="{field}" type="text"' in refused
        assert re.search(rf'id="{field}"[^>]*aria-invalid="true"', refused, re.S)
        assert f'value="{share}"' in refused
        assert f'value="{days}"' in refused
    assert save("85,5", "20", with_token=False).startswith("403 ")
    assert preferences_of(container, world.policy_a) == AlertPreferences(Decimal("0.9"), 10)  # nothing stored
    french = client.post(
        "/alerts/settings/preferences?lang=fr",
        data={
            "policy": world.policy_a,
            "utilisation_threshold": "150",
            "deadline_warning_days": "10",
            "csrf_token": token,
        },
    )
    assert french.status_code == 422
    assert "comprise entre 5 et 100 pour cent" in french.text
    assert save("85,5", "20").startswith("303 ")
    assert preferences_of(container, world.policy_a) == AlertPreferences(Decimal("0.855"), 20)
    assert 'value="85.5"' in page(client, "/alerts/settings")


def test_the_insured_subscribes_an_address_and_a_webhook_whose_secret_shows_once(
    client: TestClient, container: Container, world: World
) -> None:
    log_in(client, world.emails["insured_user"])
    html = page(client, "/alerts/settings?lang=en")
    assert "credit.a@example.fr" in html.split('id="subscriptions-table"')[1].split("</table>")[0]
    deliveries = html.split('id="deliveries-table"')[1].split("</table>")[0]
    assert f'data-delivery-id="{world.ledger("a").delivery_id}"' in deliveries
    assert "Waiting to be sent" in deliveries
    token = csrf_token(html)

    def subscribe(channel: str, target: str, kinds: list[str] | None = None) -> tuple[int, str, str]:
        data = {"policy": world.policy_a, "channel": channel, "target": target, "csrf_token": token}
        response = client.post("/alerts/settings/subscriptions?lang=en", data={**data, "kinds": kinds or []})
        return response.status_code, response.headers.get("location", ""), response.text

    before = active_targets(container, world.policy_a)
    for channel, target, message in (
        ("email", "not an address", "Write an e-mail address"),
        ("webhook", "ftp://hooks.example.fr", "starting with https://"),
        ("fax", "0102030405", "Choose e-mail or webhook"),
        ("email", "credit.a@example.fr", "already receives the alerts"),
    ):
        status, _, text = subscribe(channel, target)
        assert status == 422, (channel, target)
        assert '<div role="alert" id="subscription-error">' in text
        assert message in text
        assert f'value="{target}"' in text
    assert subscribe("email", "x@example.fr", ["no_such_kind"])[0] == 422
    response = client.post(
        "/alerts/settings/subscriptions", data={"policy": world.policy_a, "channel": "email", "target": "x@example.fr"}
    )
    assert response.status_code == 403  # no CSRF token
    assert active_targets(container, world.policy_a) == before  # nothing stored

    status, location, _ = subscribe("email", "compta@insured-a.fr", ["over_limit", "near_limit"])
    assert status == 303
    assert location.endswith("&saved=subscription")
    listed = page(client, location + "&lang=en")
    row = listed.split("compta@insured-a.fr")[0].rsplit("<tr", 1)[1] + listed.split("compta@insured-a.fr")[1]
    assert "Outstanding over the credit limit" in row.split("</tr>")[0]

    status, _, shown = subscribe("webhook", "https://hooks.insured-a.fr/tradecover")
    assert status == 200
    with container.uow() as uow:
        [hook] = [s for s in uow.alerts.subscriptions(world.policy_a) if s.channel == "webhook"]
    assert hook.secret
    secret_box = shown.split('id="webhook-secret-value">')[1].split("</code>")[0]
    assert secret_box.replace("<wbr>", "") == hook.secret
    again = page(client, "/alerts/settings?lang=en")
    assert hook.secret[:16] not in again
    assert 'id="webhook-secret"' not in again
    assert "A secret is set" in again.split(f'data-subscription-id="{hook.id}"')[1].split("</tr>")[0]

    removed = client.post(
        f"/alerts/settings/subscriptions/{hook.id}/delete", data={"policy": world.policy_a, "csrf_token": token}
    )
    assert removed.status_code == 303
    assert removed.headers["location"].endswith("&saved=removed")
    assert active_targets(container, world.policy_a) == ["compta@insured-a.fr", "credit.a@example.fr"]
    assert f'data-subscription-id="{hook.id}"' not in page(client, "/alerts/settings")


def test_another_insureds_policy_is_not_found_and_a_read_only_broker_is_refused(
    client: TestClient, container: Container, world: World
) -> None:
    assert client.get("/alerts").headers["location"] == "/login"
    log_in(client, world.emails["insured_user"])
    token = csrf_token(page(client, "/alerts/settings"))
    assert client.get(f"/alerts/settings?policy={world.policy_b}").status_code == 404
    b_preferences = {"policy": world.policy_b, "utilisation_threshold": "50", "deadline_warning_days": "5"}
    assert client.post("/alerts/settings/preferences", data={**b_preferences, "csrf_token": token}).status_code == 404
    assert preferences_of(container, world.policy_b) == AlertPreferences()
    b_subscription = world.ledger("b").subscription_id
    gone = client.post(
        f"/alerts/settings/subscriptions/{b_subscription}/delete", data={"policy": world.policy_b, "csrf_token": token}
    )
    assert gone.status_code == 404
    assert client.post(
        f"/alerts/settings/subscriptions/{b_subscription}/delete", data={"policy": world.policy_a, "csrf_token": token}
    ).status_code == 404  # fmt: skip
    assert active_targets(container, world.policy_b) == ["credit.b@example.fr"]
    client.cookies.clear()

    log_in(client, world.emails["underwriter"])
    assert client.get("/alerts").status_code == 403
    assert client.get("/alerts/settings").status_code == 403
    client.cookies.clear()

    log_in(client, world.emails[READ_ONLY_BROKER])  # its mandate on B is read-only
    token = csrf_token(page(client, "/home"))
    assert client.post("/acting", data={"insured": world.insured_b, "csrf_token": token}).status_code == 303
    html = page(client, "/alerts/settings?lang=en")
    assert "credit.b@example.fr" in html
    assert 'id="acting-banner"' in html
    assert world.alert_b in page(client, "/alerts")
    refused = client.post("/alerts/settings/preferences", data={**b_preferences, "csrf_token": token})
    assert refused.status_code == 403
    assert preferences_of(container, world.policy_b) == AlertPreferences()
    moved = client.post(f"/alerts/{world.alert_b}/state", data={"state": "closed", "csrf_token": token})
    assert moved.status_code == 403
    assert state_of(container, world.alert_b) is AlertState.NEW
