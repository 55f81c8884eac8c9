"""The alert channels against real servers: an aiosmtpd SMTP server and a stdlib HTTP server.

Nothing is mocked: e-mails travel over TCP to a local SMTP server and are parsed
back; webhooks are POSTed to a local HTTP server that verifies them with
:mod:`tradecover.notify.receiver`, as an insured's endpoint would. Every server
listens on 127.0.0.1 on a free port, so the tests run in parallel (pytest -n).
"""

from __future__ import annotations

import json
import re
import socket
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from tradecover.domain.errors import InvalidInput
from tradecover.domain.webhook_signing import EVENT_ID_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, sign
from tradecover.notify.email import SmtpMailer, SmtpSettings
from tradecover.notify.errors import DeliveryFailed
from tradecover.notify.receiver import ReplayGuard, verify_request
from tradecover.notify.webhooks import USER_AGENT, WebhookSender

SENDER = "alertes@tradecover.example"
SMTP_LOGIN = "alertes"
SMTP_PASSWORD = "mot-de-passe"
REFUSED = {
    "inconnu@example.fr": "550 5.1.1 Destinataire inconnu",
    "pleine@example.fr": "452 4.2.2 Boîte pleine, réessayez plus tard",
}

WEBHOOK_SECRET = "whsec-integration"
NOW = 1_773_568_800  # 2026-03-15 10:00:00 UTC


# ===================================================================== SMTP


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    content: bytes

    def message(self) -> EmailMessage:
        parsed = BytesParser(policy=policy.default).parsebytes(self.content)
        assert isinstance(parsed, EmailMessage)
        return parsed


@dataclass
class CollectingHandler:
    """Accepts everything but the addresses of ``REFUSED``; keeps what it received."""

    received: list[Received] = field(default_factory=list)

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        if address in REFUSED:
            return REFUSED[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or b""
        self.received.append(Received(str(envelope.mail_from), list(envelope.rcpt_tos), bytes(content)))
        return "250 Message accepted for delivery"


def authenticate(server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any) -> AuthResult:
    ok = isinstance(data, LoginPassword) and (data.login, data.password) == (
        SMTP_LOGIN.encode(),
        SMTP_PASSWORD.encode(),
    )
    # handled=False: the server itself answers 535 to a failure.
    return AuthResult(success=ok, handled=False)


@dataclass
class SmtpServer:
    port: int
    handler: CollectingHandler

    def settings(self, **changes: Any) -> SmtpSettings:
        values: dict[str, Any] = {"host": "127.0.0.1", "port": self.port, "sender": SENDER, "timeout": 5.0}
        values.update(changes)
        return SmtpSettings(**values)


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    handler = CollectingHandler()
    # Older Controllers cannot listen on port 0: pick a free port, and pick
    # again in the rare case another process took it in between.
    for _ in range(10):
        controller = Controller(
            handler,
            hostname="127.0.0.1",
            port=free_port(),
            authenticator=authenticate,
            auth_require_tls=False,  # the test server has no certificate
            ready_timeout=10.0,
        )
        try:
            controller.start()
        except OSError:
            controller.stop(no_assert=True)
            continue
        break
    else:
        pytest.fail("no free port for the SMTP server")
    try:
        yield SmtpServer(port=controller.port, handler=handler)
    finally:
        controller.stop()


@pytest.fixture
def mailer(smtp_server: SmtpServer) -> SmtpMailer:
    return SmtpMailer(smtp_server.settings(sender_name="Tradecover – Alertes"))


SUBJECT = "Encours élevé : Dupont SA à 85 % de sa limite"
TEXT = (
    "Bonjour,\n\n"
    "L'encours de l'acheteur Dupont SA (SIREN 552 100 554) atteint 85 000 € "
    "pour une limite de crédit de 100 000 €, soit 85 %.\n"
    "Pensez à demander une révision de la limite avant la prochaine échéance.\n\n"
    "— L'équipe Tradecover\n"
)
HTML = "<p>L'encours de <strong>Dupont SA</strong> atteint <em>85 %</em> de sa limite (85 000 €).</p>\n"


def normalised(text: str) -> str:
    return text.replace("\r\n", "\n")


def test_french_email_is_delivered_and_reads_back(smtp_server: SmtpServer, mailer: SmtpMailer) -> None:
    message_id = mailer.send(
        to=["credit.manager@example.fr", "direction@example.fr"],
        subject=SUBJECT,
        text=TEXT,
        html=HTML,
        message_id_domain="alertes.tradecover.example",
    )

    [received] = smtp_server.handler.received
    assert received.mail_from == SENDER
    assert received.rcpt_tos == ["credit.manager@example.fr", "direction@example.fr"]
    # 7-bit clean on the wire: no relay can mangle the accents.
    assert max(received.content) < 128

    message = received.message()
    assert message["Subject"] == SUBJECT
    assert message["Message-ID"] == message_id
    assert re.fullmatch(r"<[0-9a-f]{32}@alertes\.tradecover\.example>", message_id)
    assert message["From"].addresses[0].display_name == "Tradecover – Alertes"
    assert message["From"].addresses[0].addr_spec == SENDER
    assert [a.addr_spec for a in message["To"].addresses] == ["credit.manager@example.fr", "direction@example.fr"]
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["Date"] is not None
    plain = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    assert plain is not None
    assert html is not None
    assert normalised(plain.get_content()) == TEXT
    assert normalised(html.get_content()) == HTML


def test_each_message_gets_its_own_message_id(smtp_server: SmtpServer, mailer: SmtpMailer) -> None:
    first = mailer.send(to=["a@example.fr"], subject="Alerte", text="un")
    second = mailer.send(to=["a@example.fr"], subject="Alerte", text="deux")
    assert first != second
    assert [r.message()["Message-ID"] for r in smtp_server.handler.received] == [first, second]


def test_idn_domain_is_sent_in_ascii(smtp_server: SmtpServer, mailer: SmtpMailer) -> None:
    mailer.send(to=["jean@société.fr"], subject="Alerte", text="Bonjour")
    [received] = smtp_server.handler.received
    assert received.rcpt_tos == ["jean@" + "société.fr".encode("idna").decode()]


def test_login_when_configured(smtp_server: SmtpServer) -> None:
    settings = smtp_server.settings(username=SMTP_LOGIN, password=SMTP_PASSWORD)
    SmtpMailer(settings).send(to=["a@example.fr"], subject="Alerte", text="Bonjour")
    assert len(smtp_server.handler.received) == 1


def test_wrong_password_is_a_transient_failure(smtp_server: SmtpServer) -> None:
    settings = smtp_server.settings(username=SMTP_LOGIN, password="faux")
    assert "faux" not in repr(settings)
    with pytest.raises(DeliveryFailed) as caught:
        SmtpMailer(settings).send(to=["a@example.fr"], subject="Alerte", text="Bonjour")
    assert not caught.value.permanent
    assert caught.value.status == 535
    assert smtp_server.handler.received == []


def test_recipient_refused_with_5xx_is_permanent(smtp_server: SmtpServer, mailer: SmtpMailer) -> None:
    with pytest.raises(DeliveryFailed) as caught:
        mailer.send(to=["inconnu@example.fr"], subject=SUBJECT, text=TEXT)
    assert caught.value.permanent
    assert caught.value.status == 550
    assert caught.value.refused == ("inconnu@example.fr",)
    assert "Destinataire inconnu" in str(caught.value)
    assert smtp_server.handler.received == []


def test_recipient_refused_with_4xx_is_transient(smtp_server: SmtpServer, mailer: SmtpMailer) -> None:
    with pytest.raises(DeliveryFailed) as caught:
        mailer.send(to=["pleine@example.fr"], subject=SUBJECT, text=TEXT)
    assert not caught.value.permanent
    assert caught.value.status == 452


def test_partial_refusal_names_the_refused_and_the_others_receive(smtp_server: SmtpServer, mailer: SmtpMailer) -> None:
    with pytest.raises(DeliveryFailed) as caught:
        mailer.send(to=["credit.manager@example.fr", "inconnu@example.fr"], subject=SUBJECT, text=TEXT)
    assert caught.value.permanent
    assert caught.value.refused == ("inconnu@example.fr",)
    [received] = smtp_server.handler.received
    assert received.rcpt_tos == ["credit.manager@example.fr"]


def test_closed_port_is_a_transient_failure() -> None:
    # A bound socket that does not listen: connections are refused, and no
    # other test can take the port while we hold it.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as holder:
        holder.bind(("127.0.0.1", 0))
        port = int(holder.getsockname()[1])
        mailer = SmtpMailer(SmtpSettings(host="127.0.0.1", port=port, sender=SENDER, timeout=2.0))
        with pytest.raises(DeliveryFailed) as caught:
            mailer.send(to=["a@example.fr"], subject="Alerte", text="Bonjour")
    assert not caught.value.permanent
    assert caught.value.status is None


def test_silent_server_times_out_as_a_transient_failure() -> None:
    # Listening but never answering: the TCP handshake succeeds, the greeting never comes.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        port = int(silent.getsockname()[1])
        mailer = SmtpMailer(SmtpSettings(host="127.0.0.1", port=port, sender=SENDER, timeout=0.3))
        with pytest.raises(DeliveryFailed) as caught:
            mailer.send(to=["a@example.fr"], subject="Alerte", text="Bonjour")
    assert not caught.value.permanent


@pytest.mark.parametrize(
    ("changes", "code", "field_name"),
    [
        ({"subject": "Alerte\r\nBcc: espion@evil.example"}, "email.bad_header", "subject"),
        ({"subject": "Alerte\nBcc: espion@evil.example"}, "email.bad_header", "subject"),
        ({"subject": "Alerte\rBcc: espion@evil.example"}, "email.bad_header", "subject"),
        ({"subject": "Alerte\u2028Bcc: espion@evil.example"}, "email.bad_header", "subject"),
        ({"subject": "Alerte\x00"}, "email.bad_header", "subject"),
        ({"subject": "   "}, "email.bad_header", "subject"),
        ({"message_id_domain": "x.example>\r\nBcc: espion@evil.example"}, "email.bad_header", "message_id_domain"),
        ({"message_id_domain": "pas un domaine"}, "email.bad_header", "message_id_domain"),
        ({"to": ["a@example.fr\r\nBcc: espion@evil.example"]}, "email.bad_address", "to"),
        ({"to": ["a@example.fr\nespion@evil.example"]}, "email.bad_address", "to"),
        ({"to": ["a@example.fr, espion@evil.example"]}, "email.bad_address", "to"),
        ({"to": ["Espion <espion@evil.example>"]}, "email.bad_address", "to"),
        ({"to": ["sans-arobase.example.fr"]}, "email.bad_address", "to"),
        ({"to": ["a@@example.fr"]}, "email.bad_address", "to"),
        ({"to": ["a..b@example.fr"]}, "email.bad_address", "to"),
        ({"to": ["a@-example.fr"]}, "email.bad_address", "to"),
        ({"to": ["a@[127.0.0.1]"]}, "email.bad_address", "to"),
        ({"to": ["rené@example.fr"]}, "email.bad_address", "to"),
        ({"to": []}, "email.bad_address", "to"),
    ],
)
def test_header_injection_and_bad_addresses_are_refused_before_sending(
    smtp_server: SmtpServer, mailer: SmtpMailer, changes: dict[str, Any], code: str, field_name: str
) -> None:
    arguments: dict[str, Any] = {"to": ["a@example.fr"], "subject": "Alerte", "text": "Bonjour"}
    arguments.update(changes)
    with pytest.raises(InvalidInput) as caught:
        mailer.send(**arguments)
    assert caught.value.code == code
    assert caught.value.field == field_name
    assert smtp_server.handler.received == []


def test_a_single_string_is_not_a_list_of_recipients(mailer: SmtpMailer) -> None:
    with pytest.raises(InvalidInput) as caught:
        mailer.send(to="a@example.fr", subject="Alerte", text="Bonjour")
    assert caught.value.code == "email.bad_address"


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"sender": "alertes@example.fr\r\nBcc: espion@evil.example"}, "email.bad_address"),
        ({"sender_name": "Tradecover\r\nBcc: espion@evil.example"}, "email.bad_header"),
        ({"username": "seul"}, "email.bad_settings"),
        ({"username": "alertes", "password": "clé-secrète"}, "email.bad_settings"),
        ({"port": 0}, "email.bad_settings"),
        ({"host": "smtp.example.fr\r\n"}, "email.bad_settings"),
        ({"timeout": 0}, "email.bad_settings"),
    ],
)
def test_bad_settings_are_refused(changes: dict[str, Any], code: str) -> None:
    values: dict[str, Any] = {"host": "127.0.0.1", "port": 25, "sender": SENDER}
    values.update(changes)
    with pytest.raises(InvalidInput) as caught:
        SmtpSettings(**values)
    assert caught.value.code == code


# ================================================================== webhooks


@dataclass
class Delivery:
    path: str
    headers: dict[str, str]
    body: bytes
    verdict: str


@dataclass
class WebhookEndpoint:
    """What the test HTTP server saw; its routes behave like insureds' endpoints."""

    base_url: str
    secret: str = WEBHOOK_SECRET
    now: int = NOW
    guard: ReplayGuard = field(default_factory=ReplayGuard)
    deliveries: list[Delivery] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, path: str) -> str:
        return self.base_url + path


class _Server(ThreadingHTTPServer):
    endpoint: WebhookEndpoint

    def handle_error(self, request: Any, client_address: Any) -> None:
        # The client of /slow gives up before the answer: a broken pipe is expected.
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _answer(self, status: int, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_POST(self) -> None:
        endpoint = self.server.endpoint
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        headers = dict(self.headers.items())
        try:
            payload = verify_request(endpoint.secret, headers, body, endpoint.now, replay_guard=endpoint.guard)
            verdict = "ok"
        except InvalidInput as error:
            payload, verdict = None, error.code
        with endpoint.lock:
            endpoint.deliveries.append(Delivery(self.path, headers, body, verdict))
            if payload is not None and self.path == "/hook":
                endpoint.events.append(payload)

        if self.path == "/hook":
            # A replay is acknowledged without processing: the sender may retry an
            # event whose first delivery we handled but whose answer it never got.
            self._answer(200 if verdict in ("ok", "webhook.replayed") else 400)
        elif self.path == "/accepted":
            self._answer(202)
        elif self.path.startswith("/status/"):
            status = int(self.path.rsplit("/", 1)[1])
            self._answer(status, {"Retry-After": "7"} if status in (429, 503) else None)
        elif self.path == "/moved":
            self._answer(302, {"Location": "/hook"})
        elif self.path == "/slow":
            endpoint.release.wait(10)
            self._answer(200)
        else:
            self._answer(404)


@pytest.fixture
def endpoint() -> Iterator[WebhookEndpoint]:
    server = _Server(("127.0.0.1", 0), _Handler)
    server.endpoint = WebhookEndpoint(base_url=f"http://127.0.0.1:{server.server_address[1]}")
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server.endpoint
    finally:
        server.endpoint.release.set()
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.fixture
def sender() -> Iterator[WebhookSender]:
    with WebhookSender(timeout=5.0) as sender:
        yield sender


EVENT = {
    "type": "alert.raised",
    "alert": {"kind": "outstanding_near_limit", "buyer": "Dupont SA", "ratio": "0.85", "message": "Encours élevé"},
}
EVENT_BODY = json.dumps(EVENT, ensure_ascii=False).encode("utf-8")


def post(sender: WebhookSender, url: str, *, event_id: str = "evt-0001", **changes: Any) -> int:
    arguments: dict[str, Any] = {"url": url, "secret": WEBHOOK_SECRET, "event_id": event_id, "body": EVENT_BODY}
    arguments["now"] = NOW
    arguments.update(changes)
    return sender.post(**arguments)


def test_signed_webhook_is_delivered_and_verified(endpoint: WebhookEndpoint, sender: WebhookSender) -> None:
    assert post(sender, endpoint.url("/hook")) == 200

    [delivery] = endpoint.deliveries
    assert delivery.verdict == "ok"
    assert delivery.body == EVENT_BODY
    headers = {name.lower(): value for name, value in delivery.headers.items()}
    assert headers["content-type"] == "application/json"
    assert headers["user-agent"] == USER_AGENT == "tradecover-webhooks/1"
    assert headers[TIMESTAMP_HEADER.lower()] == str(NOW)
    assert headers[EVENT_ID_HEADER.lower()] == "evt-0001"
    assert headers[SIGNATURE_HEADER.lower()] == sign(WEBHOOK_SECRET, NOW, EVENT_BODY)
    assert endpoint.events == [EVENT]


def test_any_2xx_counts_as_delivered(endpoint: WebhookEndpoint, sender: WebhookSender) -> None:
    assert post(sender, endpoint.url("/accepted")) == 202


@pytest.mark.parametrize("status", [500, 502, 503, 408, 429])
def test_server_errors_timeouts_and_throttling_are_transient(
    endpoint: WebhookEndpoint, sender: WebhookSender, status: int
) -> None:
    with pytest.raises(DeliveryFailed) as caught:
        post(sender, endpoint.url(f"/status/{status}"))
    assert not caught.value.permanent
    assert caught.value.status == status
    assert caught.value.retry_after_seconds == (7 if status in (429, 503) else None)


@pytest.mark.parametrize("status", [400, 401, 403, 404, 410, 422])
def test_client_errors_are_permanent(endpoint: WebhookEndpoint, sender: WebhookSender, status: int) -> None:
    with pytest.raises(DeliveryFailed) as caught:
        post(sender, endpoint.url(f"/status/{status}"))
    assert caught.value.permanent
    assert caught.value.status == status


def test_a_receiver_with_another_secret_refuses_permanently(endpoint: WebhookEndpoint, sender: WebhookSender) -> None:
    with pytest.raises(DeliveryFailed) as caught:
        post(sender, endpoint.url("/hook"), secret="not-the-shared-secret")
    assert caught.value.permanent
    assert caught.value.status == 400
    assert [d.verdict for d in endpoint.deliveries] == ["webhook.bad_signature"]
    assert endpoint.events == []


def test_rotation_old_secret_still_verifies_at_a_receiver_not_yet_switched(
    endpoint: WebhookEndpoint, sender: WebhookSender
) -> None:
    assert post(sender, endpoint.url("/hook"), secret="the-new-secret", old_secrets=[WEBHOOK_SECRET]) == 200
    [delivery] = endpoint.deliveries
    assert delivery.verdict == "ok"
    assert delivery.headers[SIGNATURE_HEADER].count("v1=") == 2


@pytest.mark.parametrize("follow_redirects", [False, True])
def test_redirects_are_not_followed_and_fail_permanently(endpoint: WebhookEndpoint, follow_redirects: bool) -> None:
    # Even a client configured to follow redirects is not allowed to for webhooks.
    with httpx.Client(follow_redirects=follow_redirects, trust_env=False) as client:
        sender = WebhookSender(client, timeout=5.0)
        with pytest.raises(DeliveryFailed) as caught:
            post(sender, endpoint.url("/moved"))
        sender.close()  # a given client is the caller's: still usable afterwards
        assert not client.is_closed
    assert caught.value.permanent
    assert caught.value.status == 302
    assert [d.path for d in endpoint.deliveries] == ["/moved"]


def test_timeout_is_transient(endpoint: WebhookEndpoint) -> None:
    with WebhookSender(timeout=0.3) as impatient, pytest.raises(DeliveryFailed) as caught:
        post(impatient, endpoint.url("/slow"))
    assert not caught.value.permanent
    assert caught.value.status is None


def test_connection_refused_is_transient(sender: WebhookSender) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as holder:
        holder.bind(("127.0.0.1", 0))
        port = int(holder.getsockname()[1])
        with pytest.raises(DeliveryFailed) as caught:
            post(sender, f"http://127.0.0.1:{port}/hook")
    assert not caught.value.permanent


def test_replayed_event_is_refused_by_the_guard(endpoint: WebhookEndpoint, sender: WebhookSender) -> None:
    assert post(sender, endpoint.url("/hook"), event_id="evt-42") == 200
    first = endpoint.deliveries[0]

    # An eavesdropper replays the captured request byte for byte…
    replayed = httpx.post(endpoint.url("/hook"), content=first.body, headers=first.headers, trust_env=False)
    assert replayed.status_code == 200  # acknowledged…
    # …and the sender's own retry of the same event, freshly signed a minute later.
    assert post(sender, endpoint.url("/hook"), event_id="evt-42", now=NOW + 60) == 200

    assert [d.verdict for d in endpoint.deliveries] == ["ok", "webhook.replayed", "webhook.replayed"]
    assert endpoint.events == [EVENT]  # …but processed once

    assert post(sender, endpoint.url("/hook"), event_id="evt-43") == 200
    assert len(endpoint.events) == 2


@pytest.mark.parametrize(
    "url",
    [
        "ftp://127.0.0.1/hook",
        "file:///etc/passwd",
        "javascript:alert(1)",
        "gopher://127.0.0.1:70/_",
        "127.0.0.1:8080/hook",
        "/relative/hook",
        "http://",
        "http://exa mple.fr/hook",
        "http://example.fr/hook\r\nX-Injected: 1",
        "",
    ],
)
def test_non_http_urls_are_refused(sender: WebhookSender, url: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        post(sender, url)
    assert caught.value.code == "webhook.bad_url"


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "[::1]", "[::ffff:127.0.0.1]"])
def test_private_networks_can_be_refused(endpoint: WebhookEndpoint, host: str) -> None:
    port = endpoint.base_url.rsplit(":", 1)[1]
    with WebhookSender(timeout=5.0, allow_private_networks=False) as strict, pytest.raises(InvalidInput) as caught:
        post(strict, f"http://{host}:{port}/hook")
    assert caught.value.code == "webhook.private_address"
    assert endpoint.deliveries == []


@pytest.mark.parametrize("event_id", ["", "a b", "evt\r\nX-Injected: 1", "é", "x" * 201])
def test_bad_event_ids_are_refused(sender: WebhookSender, endpoint: WebhookEndpoint, event_id: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        post(sender, endpoint.url("/hook"), event_id=event_id)
    assert caught.value.code == "webhook.bad_event_id"
    assert endpoint.deliveries == []


# ------------------------------------------------------------- the receiver


def signed_headers(body: bytes, *, timestamp: int = NOW, event_id: str = "evt-1") -> dict[str, str]:
    return {
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: sign(WEBHOOK_SECRET, timestamp, body),
        EVENT_ID_HEADER: event_id,
    }


def test_verify_request_reads_headers_case_insensitively() -> None:
    headers = {name.lower(): value for name, value in signed_headers(EVENT_BODY).items()}
    assert verify_request(WEBHOOK_SECRET, headers, EVENT_BODY, NOW) == EVENT


@pytest.mark.parametrize(
    ("body", "code"),
    [(b"[1, 2]", "webhook.bad_body"), (b"pas du json", "webhook.bad_body"), (b"\xff\xfe", "webhook.bad_body")],
)
def test_verify_request_wants_a_json_object(body: bytes, code: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        verify_request(WEBHOOK_SECRET, signed_headers(body), body, NOW)
    assert caught.value.code == code


def test_verify_request_checks_the_signature_before_anything_else() -> None:
    guard = ReplayGuard()
    headers = signed_headers(EVENT_BODY) | {SIGNATURE_HEADER: "v1=" + "0" * 64}
    with pytest.raises(InvalidInput) as caught:
        verify_request(WEBHOOK_SECRET, headers, EVENT_BODY, NOW, replay_guard=guard)
    assert caught.value.code == "webhook.bad_signature"
    assert len(guard) == 0  # an unauthenticated id is not remembered
    with pytest.raises(InvalidInput) as caught:
        verify_request(WEBHOOK_SECRET, {}, EVENT_BODY, NOW)
    assert caught.value.code == "webhook.bad_timestamp"


def test_duplicated_signature_headers_are_refused() -> None:
    class TwoHeaders(dict[str, str]):
        def items(self) -> Any:
            return [*super().items(), (SIGNATURE_HEADER.upper(), "v1=" + "0" * 64)]

    with pytest.raises(InvalidInput) as caught:
        verify_request(WEBHOOK_SECRET, TwoHeaders(signed_headers(EVENT_BODY)), EVENT_BODY, NOW)
    assert caught.value.code == "webhook.bad_header"


def test_replay_guard_forgets_ids_once_the_window_is_over() -> None:
    guard = ReplayGuard(tolerance_seconds=300)
    guard.check("evt-1", timestamp=NOW, now=NOW)
    with pytest.raises(InvalidInput) as caught:
        guard.check("evt-1", timestamp=NOW, now=NOW + 300)
    assert caught.value.code == "webhook.replayed"
    guard.check("evt-2", timestamp=NOW + 10, now=NOW + 10)
    # At NOW + 301 a request signed at NOW is stale anyway: its id can go.
    guard.check("evt-3", timestamp=NOW + 301, now=NOW + 301)
    assert len(guard) == 2
    guard.check("evt-1", timestamp=NOW + 301, now=NOW + 301)
    with pytest.raises(InvalidInput):
        guard.check("evt-2", timestamp=NOW + 301, now=NOW + 301)


def test_replay_guard_is_safe_across_threads() -> None:
    guard = ReplayGuard()
    accepted: list[int] = []
    barrier = threading.Barrier(8)

    def attempt(index: int) -> None:
        barrier.wait()
        try:
            guard.check("evt-race", timestamp=NOW, now=NOW)
        except InvalidInput:
            return
        accepted.append(index)

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(accepted) == 1
