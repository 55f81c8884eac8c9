"""policy lifecycle

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05 04:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Termination of a policy (date, kind, reason) and the notice of non-renewal that may have set it.
_COLUMNS = (
    ("termination_date", sa.Date()),
    ("termination_kind", sa.String(length=20)),
    ("termination_reason", sa.String(length=500)),
    ("notice_given_by", sa.String(length=20)),
    ("notice_given_on", sa.Date()),
    ("notice_reason", sa.String(length=500)),
    ("notice_deadline", sa.Date()),
    ("notice_effective_date", sa.Date()),
)


def upgrade() -> None:
    with op.batch_alter_table("policies", schema=None) as batch_op:
        for name, kind in _COLUMNS:
            batch_op.add_column(sa.Column(name, kind, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("policies", schema=None) as batch_op:
        for name, _ in reversed(_COLUMNS):
            batch_op.drop_column(name)
