"""Alembic environment: uses the connection handed in by ``migrate.upgrade``."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from tradecover.persistence.engine import make_engine
from tradecover.persistence.tables import metadata

config = context.config


def run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        compare_type=True,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    run(connection)
else:
    url = config.get_main_option("sqlalchemy.url")
    assert url, "sqlalchemy.url is not set"
    engine = make_engine(url)
    with engine.begin() as conn:
        run(conn)
