"""Settings from the environment (prefix ``TRADECOVER_``); no secret defaults outside development."""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from pathlib import Path

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from tradecover.domain.accumulation import DEFAULT_CAPS_JSON, Cap, parse_caps
from tradecover.domain.errors import DomainError

DEVELOPMENT_SECRET = "development-only-secret-never-use-in-production-0123456789"  # noqa: S105


class Environment(StrEnum):
    DEVELOPMENT = "development"
    TEST = "test"
    PRODUCTION = "production"


def default_database_url() -> str:
    return f"sqlite:///{Path.cwd() / 'tradecover.db'}"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TRADECOVER_", extra="ignore")

    environment: Environment = Environment.DEVELOPMENT
    database_url: str = Field(default_factory=default_database_url)
    secret_key: str = DEVELOPMENT_SECRET
    access_token_minutes: int = Field(default=15, ge=1, le=24 * 60)
    max_request_bytes: int = Field(default=1_048_576, ge=1024)
    max_upload_bytes: int = Field(default=20 * 1_048_576, ge=1024)
    idempotency_hours: int = Field(default=24, ge=1)
    page_size_max: int = Field(default=500, ge=1)
    # Alert delivery: an SMTP relay for e-mail (none: e-mails wait in the outbox), and the outbox's pace.
    smtp_host: str | None = None
    smtp_port: int = Field(default=25, ge=1, le=65535)
    smtp_sender: str = "alertes@tradecover.invalid"
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = False
    alert_dispatch_seconds: int = Field(default=30, ge=0, description="0: the server does not deliver alerts")
    # The premium run (renewals, instalments due, late declarations), as the server repeats it.
    premium_run_seconds: int = Field(default=3600, ge=0, description="0: the server does not run it")
    webhook_allow_private_networks: bool = True
    # Claims: documents filed with a claim, and the indemnity above which a second claims handler approves.
    max_document_bytes: int = Field(default=10 * 1_048_576, ge=1024)
    indemnity_approval_amount: Decimal = Field(default=Decimal("100000"), ge=0)
    # Quotes: how many days a quote version may be issued after it was made.
    quote_validity_days: int = Field(default=30, ge=1, le=365)
    # Portfolio accumulation caps, JSON: [{"dimension": "country", "key": "*", "max_share": "0.25"}, ...]
    # (dimension buyer|group|country|sector|policy; key "*" for every key; measure covered_exposure|limit;
    # max_share a fraction or max_amount {"amount", "currency"}). "[]": no caps.
    accumulation_caps: str = Field(default=DEFAULT_CAPS_JSON, description="JSON list of accumulation caps")

    @field_validator("accumulation_caps")
    @classmethod
    def _check_caps(cls, value: str) -> str:
        try:
            parse_caps(value)
        except DomainError as error:
            raise ValueError(f"TRADECOVER_ACCUMULATION_CAPS: {error.message}") from None
        return value

    @property
    def caps(self) -> tuple[Cap, ...]:
        """The accumulation caps, parsed (checked when the settings were read)."""
        return parse_caps(self.accumulation_caps)

    @model_validator(mode="after")
    def _refuse_default_secret(self) -> Settings:
        weak = self.secret_key == DEVELOPMENT_SECRET or len(self.secret_key) < 32
        if self.environment is Environment.PRODUCTION and weak:
            raise ValueError(
                "TRADECOVER_SECRET_KEY must be set to a random value of at least 32 characters in production"
            )
        return self
