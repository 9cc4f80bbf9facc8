"""Alembic's env.py for percl's revisions, used when a new revision is made
(`python -m percl.store.migrations revision -m "..."`, __main__.py). percl itself runs the
revisions without it (migrations/__init__.py: `upgrade`)."""

from alembic import context

from percl.store import schema

# batch mode: the ALTERs autogenerate writes then work on SQLite (which rebuilds the table) and
# are plain ALTER TABLE on PostgreSQL.
context.configure(connection=context.config.attributes["connection"],
                  target_metadata=schema.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
