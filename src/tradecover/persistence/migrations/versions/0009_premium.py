"""premium

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05 04:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import tradecover.persistence.types

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.String(length=36)
_AT = tradecover.persistence.types.UTCDateTime()


def upgrade() -> None:
    with op.batch_alter_table("policy_terms_versions", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("declaration_frequency", sa.String(length=10), server_default="quarterly", nullable=False)
        )
        batch_op.add_column(sa.Column("declaration_days", sa.Integer(), server_default="30", nullable=False))
        batch_op.add_column(sa.Column("premium_instalments", sa.Integer(), server_default="4", nullable=False))
    territories = [
        sa.Column(f"{territory}_{name}_minor", sa.BigInteger(), nullable=False)
        for territory in ("domestic", "export")
        for name in ("turnover", "cash_sales", "intra_group", "public_buyers")
    ]
    op.create_table(
        "turnover_declarations",
        sa.Column("id", _ID, nullable=False),
        sa.Column("policy_id", _ID, nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        *territories,
        sa.Column("declared_on", sa.Date(), nullable=False),
        sa.Column("declared_by", sa.String(length=300), nullable=False),
        sa.Column("declared_at", _AT, nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(
            ["policy_id"], ["policies.id"], name=op.f("fk_turnover_declarations_policy_id_policies")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_turnover_declarations")),
        sa.UniqueConstraint("policy_id", "period_start", "version", name="uq_turnover_declarations_version"),
    )
    with op.batch_alter_table("turnover_declarations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_turnover_declarations_policy_id"), ["policy_id"], unique=False)
    op.create_table(
        "premium_document_numbers",
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("last", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("year", name=op.f("pk_premium_document_numbers")),
    )
    op.create_table(
        "premium_documents",
        sa.Column("id", _ID, nullable=False),
        sa.Column("policy_id", _ID, nullable=False),
        sa.Column("number", sa.String(length=30), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("item", sa.String(length=20), nullable=False),
        sa.Column("year_start", sa.Date(), nullable=False),
        sa.Column("issued_on", sa.Date(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("label", sa.String(length=300), nullable=False),
        sa.Column("source_key", sa.String(length=200), nullable=False),
        sa.Column("created_by", sa.String(length=300), nullable=False),
        sa.Column("created_at", _AT, nullable=False),
        sa.ForeignKeyConstraint(["policy_id"], ["policies.id"], name=op.f("fk_premium_documents_policy_id_policies")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_premium_documents")),
        sa.UniqueConstraint("number", name=op.f("uq_premium_documents_number")),
        sa.UniqueConstraint("source_key", name=op.f("uq_premium_documents_source_key")),
    )
    with op.batch_alter_table("premium_documents", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_premium_documents_policy_id"), ["policy_id"], unique=False)
    op.create_table(
        "premium_payments",
        sa.Column("id", _ID, nullable=False),
        sa.Column("policy_id", _ID, nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("received_on", sa.Date(), nullable=False),
        sa.Column("reference", sa.String(length=200), nullable=False),
        sa.Column("recorded_by", sa.String(length=300), nullable=False),
        sa.Column("recorded_at", _AT, nullable=False),
        sa.ForeignKeyConstraint(["policy_id"], ["policies.id"], name=op.f("fk_premium_payments_policy_id_policies")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_premium_payments")),
    )
    with op.batch_alter_table("premium_payments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_premium_payments_policy_id"), ["policy_id"], unique=False)
    op.create_table(
        "premium_movements",
        sa.Column("id", _ID, nullable=False),
        sa.Column("transaction_id", _ID, nullable=False),
        sa.Column("policy_id", _ID, nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("account", sa.String(length=300), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("on", sa.Date(), nullable=False),
        sa.Column("reference", sa.String(length=36), nullable=False),
        sa.Column("recorded_at", _AT, nullable=False),
        sa.ForeignKeyConstraint(["policy_id"], ["policies.id"], name=op.f("fk_premium_movements_policy_id_policies")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_premium_movements")),
    )
    with op.batch_alter_table("premium_movements", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_premium_movements_policy_id"), ["policy_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_premium_movements_transaction_id"), ["transaction_id"], unique=False)
    op.create_table(
        "premium_year_ends",
        sa.Column("policy_id", _ID, nullable=False),
        sa.Column("year_start", sa.Date(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("year_end", sa.Date(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        *[
            sa.Column(f"{name}_minor", sa.BigInteger(), nullable=False)
            for name in ("minimum", "earned", "called", "paid", "premium", "adjustment", "fees")
        ],
        sa.Column("request_count", sa.Integer(), nullable=False),
        sa.Column("buyers_monitored", sa.Integer(), nullable=False),
        sa.Column("indemnities_minor", sa.BigInteger(), nullable=False),
        sa.Column("bonus_minor", sa.BigInteger(), nullable=False),
        sa.Column("max_liability_minor", sa.BigInteger(), nullable=True),
        sa.Column("loss_ratio", tradecover.persistence.types.ExactDecimal(length=40), nullable=True),
        sa.Column("declared_periods", sa.Integer(), nullable=False),
        sa.Column("expected_periods", sa.Integer(), nullable=False),
        sa.Column("closed_on", sa.Date(), nullable=False),
        sa.Column("closed_by", sa.String(length=300), nullable=False),
        sa.Column("closed_at", _AT, nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.ForeignKeyConstraint(["policy_id"], ["policies.id"], name=op.f("fk_premium_year_ends_policy_id_policies")),
        sa.PrimaryKeyConstraint("policy_id", "year_start", "version", name=op.f("pk_premium_year_ends")),
    )
    _protect()


def downgrade() -> None:
    _unprotect()
    op.drop_table("premium_year_ends")
    with op.batch_alter_table("premium_movements", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_premium_movements_transaction_id"))
        batch_op.drop_index(batch_op.f("ix_premium_movements_policy_id"))
    op.drop_table("premium_movements")
    with op.batch_alter_table("premium_payments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_premium_payments_policy_id"))
    op.drop_table("premium_payments")
    with op.batch_alter_table("premium_documents", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_premium_documents_policy_id"))
    op.drop_table("premium_documents")
    op.drop_table("premium_document_numbers")
    with op.batch_alter_table("turnover_declarations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_turnover_declarations_policy_id"))
    op.drop_table("turnover_declarations")
    with op.batch_alter_table("policy_terms_versions", schema=None) as batch_op:
        batch_op.drop_column("premium_instalments")
        batch_op.drop_column("declaration_days")
        batch_op.drop_column("declaration_frequency")


# Declarations, premium documents, payments, movements and closings are facts: the database refuses to
# change or delete them (a correction is a new version or a new document).
_APPEND_ONLY = (
    "turnover_declarations",
    "premium_documents",
    "premium_payments",
    "premium_movements",
    "premium_year_ends",
)


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
