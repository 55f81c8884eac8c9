"""portal sessions

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05 09:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import tradecover.persistence.types

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_AT = tradecover.persistence.types.UTCDateTime()


def upgrade() -> None:
    op.create_table(
        "portal_sessions",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("started_at", _AT, nullable=False),
        sa.Column("expires_at", _AT, nullable=False),
        sa.Column("ended_at", _AT, nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_portal_sessions_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_portal_sessions")),
    )
    with op.batch_alter_table("portal_sessions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_portal_sessions_user_id"), ["user_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("portal_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_portal_sessions_user_id"))
    op.drop_table("portal_sessions")
