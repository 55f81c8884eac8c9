"""factoring: factors as loss payees (issue 10)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import tradecover.persistence.types

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "policy_delegations",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("policy_id", sa.String(length=36), nullable=False),
        sa.Column("factor_id", sa.String(length=36), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=True),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("created_by", sa.String(length=300), nullable=False),
        sa.Column("created_at", tradecover.persistence.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["factor_id"], ["organisations.id"], name=op.f("fk_policy_delegations_factor_id_organisations")
        ),
        sa.ForeignKeyConstraint(["policy_id"], ["policies.id"], name=op.f("fk_policy_delegations_policy_id_policies")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_policy_delegations")),
    )
    with op.batch_alter_table("policy_delegations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_policy_delegations_factor_id"), ["factor_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_policy_delegations_policy_id"), ["policy_id"], unique=False)

    # Assignments made before name their factor only (factor_id stays empty); all were with recourse.
    with op.batch_alter_table("factor_assignments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("factor_id", sa.String(length=36), nullable=True))
        batch_op.add_column(sa.Column("with_recourse", sa.Boolean(), server_default=sa.text("true"), nullable=False))
        batch_op.create_index(batch_op.f("ix_factor_assignments_factor_id"), ["factor_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_factor_assignments_factor_id_organisations"), "organisations", ["factor_id"], ["id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("factor_assignments", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_factor_assignments_factor_id_organisations"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_factor_assignments_factor_id"))
        batch_op.drop_column("with_recourse")
        batch_op.drop_column("factor_id")
    with op.batch_alter_table("policy_delegations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_policy_delegations_policy_id"))
        batch_op.drop_index(batch_op.f("ix_policy_delegations_factor_id"))
    op.drop_table("policy_delegations")
