"""Alerts by e-mail, over plain SMTP to a relay (optionally STARTTLS and login).

One :meth:`SmtpMailer.send` call is one SMTP session and one delivery attempt:
retrying is the outbox's job, guided by :attr:`DeliveryFailed.permanent`.

Every value that ends up in a header is checked first, so that text coming
from users (a subject built from a buyer's name, an address typed in a form)
cannot add headers or recipients: a carriage return or line feed is refused
with :class:`InvalidInput` (``email.bad_header``, or ``email.bad_address`` in an
address). Addresses are bare ``local@domain`` (no display names, no comments,
no address literals); a non-ASCII domain is sent in its IDNA (``xn--``) form,
a non-ASCII local part is refused (it would need SMTPUTF8, which relays do not
all offer). Subject and bodies are Unicode: the subject is RFC 2047 encoded,
the bodies are UTF-8 in quoted-printable, so the message is 7-bit clean and
French accents survive any relay.
"""

from __future__ import annotations

import smtplib
import ssl
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate

from tradecover.domain.errors import InvalidInput
from tradecover.notify.errors import DeliveryFailed

__all__ = ["SmtpMailer", "SmtpSettings", "check_address"]

_LOCAL_PART_SPECIALS = frozenset("!#$%&'*+-/=?^_`{|}~.")
_MAX_ADDRESS_LENGTH = 254
_MAX_LOCAL_PART_LENGTH = 64
_MAX_LABEL_LENGTH = 63


# CR and LF end a header line on the wire; the others end a line for str.splitlines()
# and for some mail tools. None belongs in a header value.
_LINE_BREAKS = frozenset("\r\n\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029")


def _has_line_break(value: str) -> bool:
    return not _LINE_BREAKS.isdisjoint(value)


def _has_control(value: str) -> bool:
    return any((ord(ch) < 32 and ch != "\t") or ord(ch) == 127 for ch in value)


def _ascii_domain(domain: str) -> str | None:
    """``domain`` in ASCII (IDNA for non-ASCII labels), or ``None`` when malformed."""
    try:
        ascii_domain = domain if domain.isascii() else domain.encode("idna").decode("ascii")
    except UnicodeError:
        return None
    labels = ascii_domain.split(".")
    for label in labels:
        if not label or len(label) > _MAX_LABEL_LENGTH or label.startswith("-") or label.endswith("-"):
            return None
        if not all(ch.isascii() and (ch.isalnum() or ch == "-") for ch in label):
            return None
    return ascii_domain


def check_address(value: object, *, field_name: str = "to") -> str:
    """``value`` as a bare ASCII ``local@domain`` address, or :class:`InvalidInput` ``email.bad_address``."""

    def refuse(reason: str) -> InvalidInput:
        return InvalidInput(
            f"{str(value)[:80]!r} is not a usable e-mail address: {reason}",
            code="email.bad_address",
            field=field_name,
        )

    if not isinstance(value, str):
        raise refuse("not a string")
    if _has_line_break(value) or _has_control(value):
        raise refuse("it contains a line break or control character")
    local, at, domain = value.rpartition("@")
    if not at or not local or not domain:
        raise refuse("expected local@domain")
    if len(local) > _MAX_LOCAL_PART_LENGTH:
        raise refuse("the local part is longer than 64 characters")
    if not all(ch.isascii() and (ch.isalnum() or ch in _LOCAL_PART_SPECIALS) for ch in local):
        raise refuse("the local part must be plain ASCII (no spaces, quotes, brackets, commas or '@')")
    if local.startswith(".") or local.endswith(".") or ".." in local:
        raise refuse("misplaced dot in the local part")
    ascii_domain = _ascii_domain(domain)
    if ascii_domain is None:
        raise refuse("malformed domain")
    address = f"{local}@{ascii_domain}"
    if len(address) > _MAX_ADDRESS_LENGTH:
        raise refuse("longer than 254 characters")
    return address


def _check_header(value: object, field_name: str, *, allow_empty: bool = False) -> str:
    if not isinstance(value, str):
        raise InvalidInput(f"{field_name} must be a string", code="email.bad_header", field=field_name)
    if _has_line_break(value) or _has_control(value):
        raise InvalidInput(
            f"{field_name} must not contain line breaks or control characters (header injection)",
            code="email.bad_header",
            field=field_name,
        )
    if not allow_empty and not value.strip():
        raise InvalidInput(f"{field_name} must not be blank", code="email.bad_header", field=field_name)
    return value


@dataclass(frozen=True)
class SmtpSettings:
    """How to reach the mail relay.

    ``starttls`` upgrades the connection before anything else is said (the
    relay's certificate is verified against the system's CAs). ``username`` and
    ``password`` go together; they are sent with AUTH after STARTTLS when
    enabled, so set ``starttls`` whenever the relay is not on the same host or
    a trusted network. Both must be printable ASCII (smtplib's AUTH encodes
    them so). ``password`` is kept out of ``repr()``.
    """

    host: str
    port: int
    sender: str
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    starttls: bool = False
    timeout: float = 10.0
    sender_name: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.host, str) or not self.host or any(ch.isspace() for ch in self.host):
            raise InvalidInput(f"bad SMTP host {self.host!r}", code="email.bad_settings", field="host")
        if isinstance(self.port, bool) or not isinstance(self.port, int) or not 1 <= self.port <= 65535:
            raise InvalidInput(f"bad SMTP port {self.port!r}", code="email.bad_settings", field="port")
        if not self.timeout > 0:
            raise InvalidInput("the SMTP timeout must be positive", code="email.bad_settings", field="timeout")
        if (self.username is None) != (self.password is None):
            raise InvalidInput(
                "give both an SMTP username and a password, or neither", code="email.bad_settings", field="username"
            )
        for name, value in (("username", self.username), ("password", self.password)):
            # smtplib encodes AUTH exchanges as ASCII: anything else would fail mid-session.
            if value is not None and not (isinstance(value, str) and value.isascii() and value.isprintable()):
                raise InvalidInput(
                    f"the SMTP {name} must be printable ASCII (a limit of smtplib's AUTH)",
                    code="email.bad_settings",
                    field=name,
                )
        object.__setattr__(self, "sender", check_address(self.sender, field_name="sender"))
        if self.sender_name is not None:
            _check_header(self.sender_name, "sender_name")


class SmtpMailer:
    """Sends one message per call through the relay described by :class:`SmtpSettings`."""

    def __init__(self, settings: SmtpSettings) -> None:
        self._settings = settings

    @property
    def settings(self) -> SmtpSettings:
        return self._settings

    def build_message(
        self,
        *,
        to: Sequence[str],
        subject: str,
        text: str,
        html: str | None = None,
        message_id_domain: str = "tradecover.invalid",
    ) -> EmailMessage:
        """The message :meth:`send` would send (validated), without sending it."""
        if isinstance(to, str):
            # A lone string is a Sequence[str] too: "ab@c.fr" would become six recipients.
            raise InvalidInput("`to` must be a sequence of addresses, not one string", code="email.bad_address")
        recipients = list(dict.fromkeys(check_address(address) for address in to))
        if not recipients:
            raise InvalidInput("at least one recipient is required", code="email.bad_address", field="to")
        subject = _check_header(subject, "subject")
        domain = _ascii_domain(_check_header(message_id_domain, "message_id_domain"))
        if domain is None:
            raise InvalidInput(
                f"{message_id_domain!r} is not a domain name", code="email.bad_header", field="message_id_domain"
            )
        if not isinstance(text, str) or (html is not None and not isinstance(html, str)):
            raise InvalidInput("the bodies must be strings", code="email.bad_body", field="text")

        settings = self._settings
        message = EmailMessage()
        message["From"] = Address(display_name=settings.sender_name or "", addr_spec=settings.sender)
        message["To"] = tuple(Address(addr_spec=address) for address in recipients)
        message["Subject"] = subject
        message["Date"] = formatdate(usegmt=True)
        # 128 random bits, fixed length: "Message-ID: <32 hex@domain>" stays on one
        # 78-column line for domains up to 31 characters (longer ones fold, validly).
        # Unlike email.utils.make_msgid it does not reveal the process id.
        message["Message-ID"] = f"<{uuid.uuid4().hex}@{domain}>"
        # RFC 3834: vacation responders and the like must not answer an alert.
        message["Auto-Submitted"] = "auto-generated"
        message.set_content(text, subtype="plain", charset="utf-8", cte="quoted-printable")
        if html is not None:
            message.add_alternative(html, subtype="html", charset="utf-8", cte="quoted-printable")
        return message

    def send(
        self,
        *,
        to: Sequence[str],
        subject: str,
        text: str,
        html: str | None = None,
        message_id_domain: str = "tradecover.invalid",
    ) -> str:
        """Send one message; return its ``Message-ID`` header, angle brackets included.

        Raises :class:`InvalidInput` for malformed input (nothing is sent) and
        :class:`DeliveryFailed` when the relay cannot be reached or refuses:

        * all recipients refused: permanent when every refusal is 5xx;
        * some recipients refused: the others *did* get the message; the error
          lists the refused ones in ``refused`` (so an outbox should send one
          message per recipient to retry cleanly);
        * message data refused: permanent for 5xx (content, size), else transient;
        * connection refused/reset, timeouts, TLS or login failures, a refused
          sender: transient — they are the relay's or the configuration's
          state, not this message's, and an operator fixing them should let the
          queued alerts through.
        """
        message = self.build_message(to=to, subject=subject, text=text, html=html, message_id_domain=message_id_domain)
        recipients = [address.addr_spec for address in message["To"].addresses]
        settings = self._settings
        where = f"{settings.host}:{settings.port}"
        try:
            with smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout) as smtp:
                if settings.starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if settings.username is not None and settings.password is not None:
                    smtp.login(settings.username, settings.password)
                refused = smtp.send_message(message, from_addr=settings.sender, to_addrs=recipients)
        except smtplib.SMTPRecipientsRefused as error:
            raise _recipients_refused(error.recipients, everyone=True) from error
        except smtplib.SMTPDataError as error:
            raise DeliveryFailed(
                f"{where} refused the message: {error.smtp_code} {_text(error.smtp_error)}",
                _is_permanent(error.smtp_code),
                status=error.smtp_code,
            ) from error
        except smtplib.SMTPAuthenticationError as error:
            raise DeliveryFailed(
                f"login to {where} failed: {error.smtp_code} {_text(error.smtp_error)}",
                False,
                status=error.smtp_code,
            ) from error
        except smtplib.SMTPResponseException as error:  # sender refused, HELO refused, …
            raise DeliveryFailed(
                f"{where} answered {error.smtp_code} {_text(error.smtp_error)}", False, status=error.smtp_code
            ) from error
        except smtplib.SMTPException as error:  # disconnected, STARTTLS not offered, …
            raise DeliveryFailed(f"SMTP session with {where} failed: {error}", False) from error
        except OSError as error:  # refused, unreachable, timed out, TLS handshake, DNS
            raise DeliveryFailed(f"cannot talk to the SMTP relay {where}: {error!r}", False) from error
        if refused:
            raise _recipients_refused(refused, everyone=False)
        return str(message["Message-ID"])


def _text(reply: bytes | str) -> str:
    return reply.decode("utf-8", errors="replace") if isinstance(reply, bytes) else reply


def _is_permanent(code: int) -> bool:
    return 500 <= code < 600


def _recipients_refused(refused: dict[str, tuple[int, bytes]], *, everyone: bool) -> DeliveryFailed:
    details = "; ".join(f"{address}: {code} {_text(reply)}" for address, (code, reply) in refused.items())
    codes = [code for code, _ in refused.values()]
    scope = "all recipients" if everyone else "some recipients (the others received the message)"
    return DeliveryFailed(
        f"the relay refused {scope}: {details}",
        all(_is_permanent(code) for code in codes),
        status=max(codes) if codes else None,
        refused=tuple(refused),
    )
