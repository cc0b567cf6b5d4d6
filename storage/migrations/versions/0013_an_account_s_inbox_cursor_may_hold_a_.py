"""an account's inbox cursor may hold a burst's read-back pages

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03 16:18:27.074403
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


# SQLite doesn't enforce a VARCHAR's length (autogenerate sees no change there); PostgreSQL
# does, and a Bluesky reader's position while a burst is read back outgrows 512 characters.


def upgrade() -> None:
    with op.batch_alter_table("network_account", schema=None) as batch_op:
        batch_op.alter_column(
            "inbox_cursor",
            existing_type=sa.String(length=512),
            type_=sa.String(),
            existing_nullable=False,
            existing_server_default="",
        )


def downgrade() -> None:
    # A reader walking a burst back keeps JSON there, which the release before reads as a
    # cursor later than every item (its inbox would stop, silently) and PostgreSQL can't fit
    # in 512 characters: give each its cursor alone (the rest of that burst is skipped, as
    # the release before would have done).
    connection = op.get_bind()
    walking = connection.execute(
        sa.text("SELECT id, inbox_cursor FROM network_account WHERE inbox_cursor LIKE '{%'")
    ).all()
    for account_id, position in walking:
        try:
            since = str(json.loads(position).get("since") or "")
        except (ValueError, AttributeError):
            since = ""
        connection.execute(
            sa.text("UPDATE network_account SET inbox_cursor = :since WHERE id = :id"),
            {"since": since[:512], "id": account_id},
        )
    with op.batch_alter_table("network_account", schema=None) as batch_op:
        batch_op.alter_column(
            "inbox_cursor",
            existing_type=sa.String(),
            type_=sa.String(length=512),
            existing_nullable=False,
            existing_server_default="",
        )
