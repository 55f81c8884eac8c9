"""quotes

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-05 04:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import tradecover.persistence.types

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "quote_numbers",
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("last", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("year", name=op.f("pk_quote_numbers")),
    )
    op.create_table(
        "quotes",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("reference", sa.String(length=20), nullable=False),
        sa.Column("policyholder_id", sa.String(length=36), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("sector", sa.String(length=10), nullable=False),
        sa.Column("turnover_domestic_minor", sa.BigInteger(), nullable=False),
        sa.Column("turnover_export_minor", sa.BigInteger(), nullable=False),
        sa.Column("requested_on", sa.Date(), nullable=False),
        sa.Column("created_by", sa.String(length=300), nullable=False),
        sa.Column("created_at", tradecover.persistence.types.UTCDateTime(), nullable=False),
        sa.Column("issued_policy_id", sa.String(length=36), nullable=True),
        sa.Column("issued_version", sa.Integer(), nullable=True),
        sa.Column("issued_on", sa.Date(), nullable=True),
        sa.Column("issued_by", sa.String(length=300), nullable=True),
        sa.Column("issued_at", tradecover.persistence.types.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["issued_policy_id"], ["policies.id"], name=op.f("fk_quotes_issued_policy_id_policies")
        ),
        sa.ForeignKeyConstraint(
            ["policyholder_id"], ["organisations.id"], name=op.f("fk_quotes_policyholder_id_organisations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quotes")),
        sa.UniqueConstraint("reference", name=op.f("uq_quotes_reference")),
    )
    with op.batch_alter_table("quotes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_quotes_policyholder_id"), ["policyholder_id"], unique=False)

    op.create_table(
        "quote_buyers",
        sa.Column("quote_id", sa.String(length=36), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("identifier", sa.String(length=40), nullable=True),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("outstanding_minor", sa.BigInteger(), nullable=False),
        sa.Column("risk_grade", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["quote_id"], ["quotes.id"], name=op.f("fk_quote_buyers_quote_id_quotes")),
        sa.PrimaryKeyConstraint("quote_id", "position", name=op.f("pk_quote_buyers")),
    )
    op.create_table(
        "quote_loss_years",
        sa.Column("quote_id", sa.String(length=36), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("losses_minor", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["quote_id"], ["quotes.id"], name=op.f("fk_quote_loss_years_quote_id_quotes")),
        sa.PrimaryKeyConstraint("quote_id", "year", name=op.f("pk_quote_loss_years")),
    )
    op.create_table(
        "quote_versions",
        sa.Column("quote_id", sa.String(length=36), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_on", sa.Date(), nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("created_by", sa.String(length=300), nullable=False),
        sa.Column("created_at", tradecover.persistence.types.UTCDateTime(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("domestic_rate", tradecover.persistence.types.ExactDecimal(length=40), nullable=False),
        sa.Column("export_rate", tradecover.persistence.types.ExactDecimal(length=40), nullable=False),
        sa.Column("expected_premium_minor", sa.BigInteger(), nullable=False),
        sa.Column("minimum_premium_minor", sa.BigInteger(), nullable=False),
        sa.Column("terms", sa.Text(), nullable=False),
        sa.Column("lines", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["quote_id"], ["quotes.id"], name=op.f("fk_quote_versions_quote_id_quotes")),
        sa.PrimaryKeyConstraint("quote_id", "version", name=op.f("pk_quote_versions")),
    )
    _protect()


def downgrade() -> None:
    _unprotect()
    op.drop_table("quote_versions")
    op.drop_table("quote_loss_years")
    op.drop_table("quote_buyers")
    with op.batch_alter_table("quotes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_quotes_policyholder_id"))
    op.drop_table("quotes")
    op.drop_table("quote_numbers")


# An application and each version of its quote are facts: the database refuses to change or delete
# them (the quote's issue is recorded on ``quotes``, the one table updated).
_APPEND_ONLY = ("quote_buyers", "quote_loss_years", "quote_versions")


def _protect() -> None:
    for table in _APPEND_ONLY:
        if op.get_bind().dialect.name == "sqlite":
            for verb in ("UPDATE", "DELETE"):
                op.execute(
                    f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
                )
        else:
            op.execute(
                f"CREATE FUNCTION {table}_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
                f"BEGIN RAISE EXCEPTION '{table} is append-only'; END $$"
            )
            op.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                f"FOR EACH ROW EXECUTE FUNCTION {table}_append_only()"
            )


def _unprotect() -> None:
    for table in _APPEND_ONLY:
        if op.get_bind().dialect.name == "sqlite":
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_update")
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_delete")
        else:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
            op.execute(f"DROP FUNCTION IF EXISTS {table}_append_only()")
