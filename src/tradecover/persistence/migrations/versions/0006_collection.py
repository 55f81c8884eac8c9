"""collection

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-05 01:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import tradecover.persistence.types

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_OPEN = "stage != 'closed'"


def upgrade() -> None:
    op.create_table(
        "collection_case_numbers",
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("last", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("year", name=op.f("pk_collection_case_numbers")),
    )
    op.create_table(
        "late_payment_base_rates",
        sa.Column("effective_date", sa.Date(), nullable=False),
        sa.Column("rate", tradecover.persistence.types.ExactDecimal(length=40), nullable=False),
        sa.Column("recorded_by", sa.String(length=300), nullable=False),
        sa.Column("recorded_at", tradecover.persistence.types.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("effective_date", name=op.f("pk_late_payment_base_rates")),
    )
    op.create_table(
        "collection_cases",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("reference", sa.String(length=20), nullable=False),
        sa.Column("policy_id", sa.String(length=36), nullable=False),
        sa.Column("buyer_id", sa.String(length=36), nullable=False),
        sa.Column("organisation_id", sa.String(length=36), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("stage", sa.String(length=10), nullable=False),
        sa.Column("opened_on", sa.Date(), nullable=False),
        sa.Column("opened_at", tradecover.persistence.types.UTCDateTime(), nullable=False),
        sa.Column("opened_by", sa.String(length=300), nullable=False),
        sa.Column("commission_rate", tradecover.persistence.types.ExactDecimal(length=40), nullable=False),
        sa.Column("closed_on", sa.Date(), nullable=True),
        sa.Column("outcome", sa.String(length=20), nullable=True),
        sa.Column("closure_reason", sa.String(length=500), nullable=True),
        sa.Column("closed_by", sa.String(length=300), nullable=True),
        sa.Column("closed_at", tradecover.persistence.types.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["buyer_id"], ["buyers.id"], name=op.f("fk_collection_cases_buyer_id_buyers")),
        sa.ForeignKeyConstraint(
            ["organisation_id"], ["organisations.id"], name=op.f("fk_collection_cases_organisation_id_organisations")
        ),
        sa.ForeignKeyConstraint(["policy_id"], ["policies.id"], name=op.f("fk_collection_cases_policy_id_policies")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_collection_cases")),
        sa.UniqueConstraint("reference", name=op.f("uq_collection_cases_reference")),
    )
    with op.batch_alter_table("collection_cases", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_collection_cases_buyer_id"), ["buyer_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_collection_cases_organisation_id"), ["organisation_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_collection_cases_policy_id"), ["policy_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_collection_cases_stage"), ["stage"], unique=False)
        batch_op.create_index(
            "uq_collection_cases_open",
            ["policy_id", "buyer_id"],
            unique=True,
            sqlite_where=sa.text(_OPEN),
            postgresql_where=sa.text(_OPEN),
        )

    op.create_table(
        "collection_case_debts",
        sa.Column("case_id", sa.String(length=36), nullable=False),
        sa.Column("invoice_id", sa.String(length=36), nullable=False),
        sa.Column("number", sa.String(length=100), nullable=False),
        sa.Column("issue_date", sa.Date(), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("amount_incl_vat_minor", sa.BigInteger(), nullable=False),
        sa.Column("unpaid_minor", sa.BigInteger(), nullable=False),
        sa.Column("guaranteed", sa.Boolean(), nullable=False),
        sa.Column("notification_id", sa.String(length=36), nullable=True),
        sa.Column("added_on", sa.Date(), nullable=False),
        sa.Column("added_at", tradecover.persistence.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["collection_cases.id"], name=op.f("fk_collection_case_debts_case_id_collection_cases")
        ),
        sa.ForeignKeyConstraint(
            ["invoice_id"], ["ledger_invoices.id"], name=op.f("fk_collection_case_debts_invoice_id_ledger_invoices")
        ),
        sa.PrimaryKeyConstraint("case_id", "invoice_id", name=op.f("pk_collection_case_debts")),
    )
    with op.batch_alter_table("collection_case_debts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_collection_case_debts_invoice_id"), ["invoice_id"], unique=False)

    op.create_table(
        "collection_letters",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("case_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("reference", sa.String(length=40), nullable=False),
        sa.Column("language", sa.String(length=2), nullable=False),
        sa.Column("letter_date", sa.Date(), nullable=False),
        sa.Column("media_type", sa.String(length=100), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("created_by", sa.String(length=300), nullable=False),
        sa.Column("created_at", tradecover.persistence.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["collection_cases.id"], name=op.f("fk_collection_letters_case_id_collection_cases")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_collection_letters")),
        sa.UniqueConstraint("reference", name=op.f("uq_collection_letters_reference")),
    )
    with op.batch_alter_table("collection_letters", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_collection_letters_case_id"), ["case_id"], unique=False)

    op.create_table(
        "collection_actions",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("case_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("on", sa.Date(), nullable=False),
        sa.Column("author", sa.String(length=300), nullable=False),
        sa.Column("note", sa.String(length=2000), nullable=True),
        sa.Column("letter_id", sa.String(length=36), nullable=True),
        sa.Column("created_at", tradecover.persistence.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["collection_cases.id"], name=op.f("fk_collection_actions_case_id_collection_cases")
        ),
        sa.ForeignKeyConstraint(
            ["letter_id"], ["collection_letters.id"], name=op.f("fk_collection_actions_letter_id_collection_letters")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_collection_actions")),
    )
    with op.batch_alter_table("collection_actions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_collection_actions_case_id"), ["case_id"], unique=False)

    op.create_table(
        "collection_receipts",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("case_id", sa.String(length=36), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("received_on", sa.Date(), nullable=False),
        sa.Column("reference", sa.String(length=200), nullable=True),
        sa.Column("guaranteed_minor", sa.BigInteger(), nullable=False),
        sa.Column("non_guaranteed_minor", sa.BigInteger(), nullable=False),
        sa.Column("commission_rate", tradecover.persistence.types.ExactDecimal(length=40), nullable=False),
        sa.Column("commission_minor", sa.BigInteger(), nullable=False),
        sa.Column("ledger_payment_id", sa.String(length=36), nullable=True),
        sa.Column("recorded_by", sa.String(length=300), nullable=False),
        sa.Column("recorded_at", tradecover.persistence.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["collection_cases.id"], name=op.f("fk_collection_receipts_case_id_collection_cases")
        ),
        sa.ForeignKeyConstraint(
            ["ledger_payment_id"],
            ["ledger_payments.id"],
            name=op.f("fk_collection_receipts_ledger_payment_id_ledger_payments"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_collection_receipts")),
    )
    with op.batch_alter_table("collection_receipts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_collection_receipts_case_id"), ["case_id"], unique=False)

    op.create_table(
        "collection_allocations",
        sa.Column("receipt_id", sa.String(length=36), nullable=False),
        sa.Column("invoice_id", sa.String(length=36), nullable=False),
        sa.Column("number", sa.String(length=100), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("guaranteed", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["invoice_id"], ["ledger_invoices.id"], name=op.f("fk_collection_allocations_invoice_id_ledger_invoices")
        ),
        sa.ForeignKeyConstraint(
            ["receipt_id"],
            ["collection_receipts.id"],
            name=op.f("fk_collection_allocations_receipt_id_collection_receipts"),
        ),
        sa.PrimaryKeyConstraint("receipt_id", "invoice_id", name=op.f("pk_collection_allocations")),
    )
    op.create_table(
        "collection_costs",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("case_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("incurred_on", sa.Date(), nullable=False),
        sa.Column("description", sa.String(length=500), nullable=True),
        sa.Column("recorded_by", sa.String(length=300), nullable=False),
        sa.Column("recorded_at", tradecover.persistence.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["collection_cases.id"], name=op.f("fk_collection_costs_case_id_collection_cases")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_collection_costs")),
    )
    with op.batch_alter_table("collection_costs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_collection_costs_case_id"), ["case_id"], unique=False)

    _protect()


def downgrade() -> None:
    _unprotect()
    with op.batch_alter_table("collection_costs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_collection_costs_case_id"))
    op.drop_table("collection_costs")
    op.drop_table("collection_allocations")
    with op.batch_alter_table("collection_receipts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_collection_receipts_case_id"))
    op.drop_table("collection_receipts")
    with op.batch_alter_table("collection_actions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_collection_actions_case_id"))
    op.drop_table("collection_actions")
    with op.batch_alter_table("collection_letters", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_collection_letters_case_id"))
    op.drop_table("collection_letters")
    with op.batch_alter_table("collection_case_debts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_collection_case_debts_invoice_id"))
    op.drop_table("collection_case_debts")
    with op.batch_alter_table("collection_cases", schema=None) as batch_op:
        batch_op.drop_index("uq_collection_cases_open", sqlite_where=sa.text(_OPEN), postgresql_where=sa.text(_OPEN))
        batch_op.drop_index(batch_op.f("ix_collection_cases_stage"))
        batch_op.drop_index(batch_op.f("ix_collection_cases_policy_id"))
        batch_op.drop_index(batch_op.f("ix_collection_cases_organisation_id"))
        batch_op.drop_index(batch_op.f("ix_collection_cases_buyer_id"))
    op.drop_table("collection_cases")
    op.drop_table("late_payment_base_rates")
    op.drop_table("collection_case_numbers")


# What a case records is a fact: the database refuses to change or delete it (a case's stage and
# closure live on collection_cases, the one table updated).
_APPEND_ONLY = (
    "collection_case_debts",
    "collection_letters",
    "collection_actions",
    "collection_receipts",
    "collection_allocations",
    "collection_costs",
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
