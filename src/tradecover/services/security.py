"""Secrets: argon2id password hashes and API keys stored as digests."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_HASHER = PasswordHasher()  # argon2id with the library's current recommended parameters

API_KEY_MARK = "tck"


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _HASHER.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


# A fixed hash verified when the user is unknown, so that response time does
# not reveal which e-mail addresses have accounts.
_DUMMY_HASH = _HASHER.hash("tradecover-timing-equaliser")


def burn_password_check(password: str) -> None:
    verify_password(_DUMMY_HASH, password)


def configure_password_hashing(*, time_cost: int, memory_cost: int, parallelism: int = 1) -> None:
    """Tune argon2id's cost (tests use a cheap setting; existing hashes stay verifiable)."""
    global _HASHER, _DUMMY_HASH
    _HASHER = PasswordHasher(time_cost=time_cost, memory_cost=memory_cost, parallelism=parallelism)
    _DUMMY_HASH = _HASHER.hash("tradecover-timing-equaliser")


@dataclass(frozen=True)
class NewApiKey:
    prefix: str
    secret: str
    digest: str

    @property
    def token(self) -> str:
        return f"{API_KEY_MARK}_{self.prefix}_{self.secret}"


def generate_api_key() -> NewApiKey:
    prefix = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    return NewApiKey(prefix=prefix, secret=secret, digest=api_key_digest(prefix, secret))


def api_key_digest(prefix: str, secret: str) -> str:
    # The secret has 256 bits of entropy: a plain SHA-256 cannot be brute-forced.
    return hashlib.sha256(f"{prefix}.{secret}".encode()).hexdigest()


def split_api_key(token: str) -> tuple[str, str] | None:
    mark, _, rest = token.partition("_")
    prefix, _, secret = rest.partition("_")
    if mark != API_KEY_MARK or not prefix or not secret:
        return None
    return prefix, secret


def digests_match(a: str, b: str) -> bool:
    return hmac.compare_digest(a, b)
