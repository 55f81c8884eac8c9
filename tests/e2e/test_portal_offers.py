"""The portal's offers pages through the app factory: a broker records insurers' offers for its insured and
compares them on the insured's ledger (docs/COMPARE.md, examples/compare/).

The world (api_world.py) gets a third insured, Atelier Dupont SAS (SIREN 552100554, the example's), under an
``act`` mandate of ``broker_user``, with one buyer of the example in its book. Runs on SQLite and, when
configured, PostgreSQL. The comparison of the example takes seconds: it is run once per database, and
computed directly once per session.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from api_world import READ_ONLY_BROKER, World, add_receivables, build_world
from fastapi.testclient import TestClient
from portal_support import csrf_token, log_in, page
from sqlalchemy import text

from tradecover.api.app import create_app
from tradecover.bootstrap import Container
from tradecover.domain.parties import MandateScope, OrganisationKind
from tradecover.ingest.ledger_formats import parse_ledger_file
from tradecover.services import accounts, buyers
from tradecover.services.authorization import system_actor
from tradecover.simulation.comparison import InsuredSpec, compare_offers, comparison_png, parse_offers
from tradecover.web.i18n import Formats

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "compare"
DUPONT = InsuredSpec("Atelier Dupont SAS", "552100554", "FR", None)
CLIENT_SA = "443061841"  # a buyer of the example, in Dupont's book
UNKNOWN = "552081317"  # a valid SIREN in nobody's book
LIMITS = f"identifier,amount\n{CLIENT_SA},30000\n"
FRENCH = Formats("fr")


@dataclass(frozen=True)
class Offers:
    world: World
    dupont: str


@pytest.fixture
def offers_world(container: Container) -> Offers:
    world = add_receivables(container, build_world(container))
    admin = system_actor(world.insurer_id)
    with container.uow() as uow:
        dupont = accounts.create_organisation(
            uow, container.clock, admin, kind=OrganisationKind.POLICYHOLDER, name=DUPONT.name, country="FR",
            siren=DUPONT.siren,
        ).id  # fmt: skip
        accounts.create_mandate(
            uow, container.clock, admin, broker_id=world.broker_id, insured_id=dupont,
            start_date=date(2026, 1, 1), end_date=None, scope=MandateScope.ACT,
        )  # fmt: skip
        buyers.add_buyer(
            uow, container.clock, admin, identifiers=[("siren", CLIENT_SA)], legal_name="Client SA", country="FR",
            organisation_id=dupont,
        )  # fmt: skip
        uow.commit()
    return Offers(world, dupont)


@pytest.fixture
def client(container: Container, offers_world: Offers) -> Iterator[TestClient]:
    with TestClient(create_app(container=container), follow_redirects=False) as opened:
        yield opened


def logged_in(client: TestClient, world: World, name: str, acting: str | None = None) -> TestClient:
    log_in(client, world.emails[name])
    if acting is not None:
        token = csrf_token(client.get("/home").text)
        assert client.post("/acting", data={"insured": acting, "csrf_token": token}).status_code == 303
    return client


def _count(container: Container, table: str) -> int:
    with container.engine.connect() as connection:
        return int(connection.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())


def record(client: TestClient, limits: str | None = None, token: str | None = None, **fields: str) -> Any:
    data = {"csrf_token": token if token is not None else csrf_token(page(client, "/offers")), **fields}
    files = {"limits": ("limits.csv", limits, "text/csv")} if limits is not None else None
    return client.post("/offers", data=data, files=files)


def test_a_broker_records_an_offer_with_its_limits_and_bad_ones_store_nothing(
    client: TestClient, offers_world: Offers, container: Container
) -> None:
    logged_in(client, offers_world.world, "broker_user", acting=offers_world.dupont)
    empty = page(client, "/offers")
    assert 'id="no-offers"' in empty
    assert 'id="offer-form"' in empty
    assert 'id="nav-offers"' in empty

    recorded = record(
        client, LIMITS, insurer="Delta Assurances", indemnity_rate="0,85", domestic_rate="0.003",
        minimum_premium="2 500", waiting_period_days="150", annual_fee="300", per_buyer_fee="25",
    )  # fmt: skip
    assert recorded.status_code == 303, recorded.text
    listed = client.get(recorded.headers["location"]).text
    assert 'id="offer-recorded"' in listed
    row = re.search(r'<tr data-offer="[^"]+" class="is-new">(.*?)</tr>', listed, re.S)
    assert row, listed
    assert "Delta Assurances" in row.group(1)
    for shown in ("85,0", "0,30", FRENCH.amount(Decimal("2500"), "EUR"), FRENCH.amount(Decimal("300"), "EUR")):
        assert shown in row.group(1), shown
    assert '<td class="num offer-limits">1</td>' in row.group(1)
    assert (_count(container, "offers"), _count(container, "offer_limits")) == (1, 1)

    # refused whole, in the form, the typed values kept: nothing more is stored
    out_of_range = record(client, LIMITS, insurer="Omega", indemnity_rate="0.99", annual_fee="10")
    assert out_of_range.status_code == 422
    assert 'id="offer-error"' in out_of_range.text
    assert "hors des limites permises" in out_of_range.text
    assert 'id="indemnity_rate" name="indemnity_rate" type="text" inputmode="decimal" value="0.99"' in out_of_range.text
    assert 'value="Omega"' in out_of_range.text
    bad_line = record(client, f"identifier,amount\n{CLIENT_SA},-5\n", insurer="Omega")
    assert bad_line.status_code == 422
    assert "Le montant de la limite n" in bad_line.text
    unknown = record(client, f"identifier,amount\n{UNKNOWN},1000\n", insurer="Omega")
    assert unknown.status_code == 422, unknown.text
    assert 'id="limits" name="limits" type="file" accept=".csv,.txt" aria-invalid="true"' in unknown.text
    no_token = record(client, LIMITS, token="", insurer="Omega")
    assert no_token.status_code == 403
    assert (_count(container, "offers"), _count(container, "offer_limits")) == (1, 1)

    # the insured's own user reads the offers but records none; staff have no insured's screens
    client.cookies.clear()
    logged_in(client, offers_world.world, "insured_user")
    own = page(client, "/offers")
    assert 'id="no-offers"' in own  # A's offers: none, Dupont's are not A's
    assert 'id="offer-form"' not in own
    assert record(client, insurer="Omega", token=csrf_token(own)).status_code == 403
    client.cookies.clear()
    logged_in(client, offers_world.world, "underwriter")
    assert client.get("/offers").status_code == 403


@cache
def direct_comparison() -> tuple[dict[str, Any], bytes]:
    """The example compared without the portal, for the insured Dupont (the same inputs as the upload's)."""
    spec = parse_offers(
        (EXAMPLE / "offers.yaml").read_text(encoding="utf-8"),
        "offers.yaml",
        read_file=lambda name: (EXAMPLE / name).read_bytes(),
        organisation=DUPONT,
        stored=("EUR", ()),
    )
    ledger = parse_ledger_file((EXAMPLE / "ledger.csv").read_bytes(), "ledger.csv", file_format="auto", currency="EUR")
    document = compare_offers(spec, ledger).document
    return document, comparison_png(document, "fr")  # the portal draws it in the reader's language


def upload(client: TestClient, *, offers: bool = True, ledger: bool = True, **data: str) -> Any:
    files: list[tuple[str, tuple[str, bytes, str]]] = []
    if ledger:
        files.append(("ledger", ("ledger.csv", (EXAMPLE / "ledger.csv").read_bytes(), "text/csv")))
    if offers:
        files.append(("offers", ("offers.yaml", (EXAMPLE / "offers.yaml").read_bytes(), "text/yaml")))
        files.append(("limits", ("gamma_limits.csv", (EXAMPLE / "gamma_limits.csv").read_bytes(), "text/csv")))
    token = csrf_token(page(client, "/offers/comparison"))
    return client.post("/offers/comparison", data={"csrf_token": token, **data}, files=files)


def finished(client: TestClient, url: str) -> str:
    deadline = time.monotonic() + 120
    while True:
        html = page(client, url)
        if 'http-equiv="refresh"' not in html:
            return html
        assert 'id="comparison-progress"' in html
        assert time.monotonic() < deadline, "the comparison did not end"
        time.sleep(0.3)


def cells(html: str, row: str) -> list[str]:
    found = re.search(rf'<tr data-row="{row}">(.*?)</tr>', html, re.S)
    assert found, row
    return [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", found.group(1), re.S)]


def test_the_broker_compares_the_example_offers_on_the_ledger(client: TestClient, offers_world: Offers) -> None:
    logged_in(client, offers_world.world, "broker_user", acting=offers_world.dupont)
    form = page(client, "/offers/comparison")
    assert 'id="compare-form"' in form

    started = upload(client)
    assert started.status_code == 303, started.text
    url = started.headers["location"]
    html = finished(client, url)
    assert 'id="comparison-result"' in html, html
    document, chart = direct_comparison()
    insurers = re.findall(r'<th scope="col" class="num" data-insurer="([^"]+)">', html)
    assert insurers == ["Assureur Alpha", "Beta Crédit", "Gamma Garantie"]
    expected = document["offers"]
    for row, key in (
        ("premium", "premium_amount"),
        ("fees", "fees_amount"),
        ("indemnities", "indemnity_amount"),
        ("net-cost", "net_cost_amount"),
    ):
        assert cells(html, row) == [FRENCH.amount(Decimal(o[key]), "EUR") for o in expected], row
    for year in (2025, 2026):
        premiums = [next(y for y in o["years"] if y["year"] == year)["premium_amount"] for o in expected]
        assert cells(html, f"premium-{year}") == [FRENCH.amount(Decimal(p), "EUR") for p in premiums]
    assert cells(html, "average-share") == [FRENCH.percent(Decimal(o["average_share"])) for o in expected]
    assert [c.split(" · ")[0] for c in cells(html, "worst-year")] == [str(o["worst_year"]["year"]) for o in expected]
    assert html.count("<li>") >= len(document["assumptions"])
    assert 'src="' + url + '/chart.png"' in html
    image = client.get(url + "/chart.png")
    assert image.status_code == 200
    assert image.headers["content-type"] == "image/png"
    assert image.content.startswith(b"\x89PNG")
    assert image.content == chart

    # another user's comparison is not found, as an unknown one
    other = TestClient(client.app, follow_redirects=False)
    logged_in(other, offers_world.world, "insured_user")
    assert other.get(url).status_code == 404
    assert other.get(url + "/chart.png").status_code == 404
    assert client.get("/offers/comparison/" + "0" * 32).status_code == 404

    # refused at once in the form: no ledger in tradecover either, a bad number of years, the file of another
    # SIREN's offers
    assert "laissez vide pour utiliser les factures déjà dans tradecover" in form
    no_history = upload(client, ledger=False)
    assert no_history.status_code == 422
    assert 'id="compare-error"' in no_history.text
    assert "Le grand livre ne contient aucune écriture" in no_history.text
    token = csrf_token(form)
    empty = client.post("/offers/comparison", data={"csrf_token": token}, files={"ledger": ("l.csv", b"", "text/csv")})
    assert empty.status_code == 422
    years = upload(client, years="0")
    assert years.status_code == 422
    assert 'value="0"' in years.text
    assert "de 1 à 50" in years.text
    client.cookies.clear()
    logged_in(client, offers_world.world, "broker_user", acting=offers_world.world.insured_a)
    mismatch = upload(client)
    assert mismatch.status_code == 422
    assert 'id="compare-error"' in mismatch.text
    nothing = upload(client, offers=False)  # no offer recorded for A, no offers file
    assert nothing.status_code == 422
    assert 'id="compare-error"' in nothing.text
    # with an offer recorded, the example ledger is refused in the job: it names A itself as a customer
    assert record(client, "identifier,amount\n552100554,1000\n", insurer="Alpha").status_code == 303
    started = upload(client, offers=False)
    assert started.status_code == 303
    failed = finished(client, started.headers["location"])
    assert 'id="comparison-failed"' in failed
    assert 'id="comparison-failure"' in failed
    # without a ledger file, A's ledger held by tradecover
    started = upload(client, offers=False, ledger=False)
    assert started.status_code == 303, started.text
    stored = finished(client, started.headers["location"])
    assert 'id="comparison-result"' in stored, stored
    assert "tradecover ledger of Insured A SAS" in stored


def test_another_brokers_insured_and_csrf(client: TestClient, offers_world: Offers, container: Container) -> None:
    world = offers_world.world
    logged_in(client, world, "broker_user")
    assert client.get("/offers").status_code == 409  # whose offers? the broker chooses an insured first
    token = csrf_token(client.get("/home").text)
    assert client.post("/acting", data={"insured": world.insured_b, "csrf_token": token}).status_code == 404
    assert client.post("/acting", data={"insured": offers_world.dupont, "csrf_token": token}).status_code == 303
    assert client.post("/offers/comparison", data={"csrf_token": ""}).status_code == 403
    client.cookies.clear()

    # a read-only mandate reads the insured's offers and may not record one
    logged_in(client, world, READ_ONLY_BROKER, acting=world.insured_b)
    screen = page(client, "/offers")
    refused = record(client, LIMITS, token=csrf_token(screen), insurer="Omega", indemnity_rate="0.9")
    assert refused.status_code == 403, refused.text
    assert 'id="offer-form"' in screen  # the form is a broker's; its mandate decides
    assert _count(container, "offers") == 0
