"""Bot conversation and user state (botbuilder Storage) with e-tags.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "bot_state",
        sa.Column("key", sa.String(1024), primary_key=True),
        sa.Column("e_tag", sa.String(64), nullable=False),
        sa.Column("data", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_bot_state_updated_at", "bot_state", ["updated_at"])


def downgrade() -> None:
    op.drop_index("ix_bot_state_updated_at", table_name="bot_state")
    op.drop_table("bot_state")
