"""offers: offers received by brokers from insurers (issue 10)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import tradecover.persistence.types

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "offers",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("organisation_id", sa.String(length=36), nullable=False),
        sa.Column("insurer_name", sa.String(length=200), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("terms", sa.Text(), nullable=False),
        sa.Column("annual_fee_minor", sa.BigInteger(), nullable=False),
        sa.Column("per_buyer_fee_minor", sa.BigInteger(), nullable=False),
        sa.Column("created_by", sa.String(length=300), nullable=False),
        sa.Column("created_at", tradecover.persistence.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_id"], ["organisations.id"], name=op.f("fk_offers_organisation_id_organisations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_offers")),
    )
    with op.batch_alter_table("offers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_offers_organisation_id"), ["organisation_id"], unique=False)
    op.create_table(
        "offer_limits",
        sa.Column("offer_id", sa.String(length=36), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("buyer_id", sa.String(length=36), nullable=False),
        sa.Column("identifier", sa.String(length=40), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("created_by", sa.String(length=300), nullable=False),
        sa.Column("created_at", tradecover.persistence.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["buyer_id"], ["buyers.id"], name=op.f("fk_offer_limits_buyer_id_buyers")),
        sa.ForeignKeyConstraint(["offer_id"], ["offers.id"], name=op.f("fk_offer_limits_offer_id_offers")),
        sa.PrimaryKeyConstraint("offer_id", "version", "buyer_id", name=op.f("pk_offer_limits")),
    )


def downgrade() -> None:
    op.drop_table("offer_limits")
    with op.batch_alter_table("offers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_offers_organisation_id"))
    op.drop_table("offers")
