"""Migrations: upgrade an empty database, no drift from the models, downgrade and back."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect

from tradecover.persistence.migrate import current_revision, downgrade, head_revision, upgrade
from tradecover.persistence.tables import metadata


def test_the_database_is_at_head_and_matches_the_models(engine: Engine) -> None:
    assert current_revision(engine) == head_revision()
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, metadata)
    assert differences == []


def test_downgrade_to_base_and_upgrade_again(engine: Engine) -> None:
    downgrade(engine, "base")
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    upgrade(engine)
    assert set(metadata.tables) <= set(inspect(engine).get_table_names())
    assert current_revision(engine) == head_revision()
