"""baseline: schema 10, the tables percl had when its migrations moved to Alembic

Revision ID: 0001
Revises:
Create Date: 2026-12-07

A new database gets every table here; a database an older percl made (schema_version 1..9) is
brought to schema 10 by the steps percl used before Alembic (migrations/baseline.py).
"""

from __future__ import annotations

from alembic import op

from percl.store.migrations import baseline

revision = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    baseline.bring_to_baseline(op.get_bind())


def downgrade() -> None:
    raise NotImplementedError("percl does not downgrade a database: restore a backup instead")
