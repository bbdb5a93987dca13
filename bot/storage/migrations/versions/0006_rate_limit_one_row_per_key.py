"""Rate-limit counts: one row per key, with this minute's count and the last one's.

A limit is held against a sliding minute (bot/ratelimit.py), which needs both
counts. Kept in one row, one upsert per key counts the request and returns
both, as the fixed windows' upsert returned one; a row per minute would cost a
second statement, a round trip on PostgreSQL. The counts are a minute old at
most, so the old table is dropped, not converted: limits start afresh once.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_table("rate_limit")
    op.create_table(
        "rate_limit",
        sa.Column("key", sa.String(200), primary_key=True),
        sa.Column("window_start", sa.Integer(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("previous", sa.Integer(), nullable=False, server_default="0"),
    )


def downgrade() -> None:
    op.drop_table("rate_limit")
    op.create_table(
        "rate_limit",
        sa.Column("key", sa.String(200), primary_key=True),
        sa.Column("window_start", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("count", sa.Integer(), nullable=False),
    )
