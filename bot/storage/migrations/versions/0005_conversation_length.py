"""Each Direct Line conversation keeps its activity count (`length`).

Appending then takes its place in the log with one statement (an update that
returns the new length) instead of counting the log first, and readers get the
watermark from one row. Existing conversations are counted once here.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "dl_conversation",
        sa.Column("length", sa.Integer(), nullable=False, server_default="0"),
    )
    op.execute(
        "UPDATE dl_conversation SET length = (SELECT COUNT(*) FROM dl_activity"
        " WHERE dl_activity.conversation_id = dl_conversation.id)"
    )


def downgrade() -> None:
    with op.batch_alter_table("dl_conversation") as table:
        table.drop_column("length")
