"""Feedback (Open311-shaped) with contact details apart and a status history; answer
ratings; unanswered questions.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "feedback",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("reference", sa.String(20), nullable=False, unique=True),
        sa.Column("service_code", sa.String(64), nullable=False, index=True),
        sa.Column("service_name", sa.String(200), nullable=False),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False, index=True),
        sa.Column("phase", sa.String(16), nullable=False, index=True),
        sa.Column("status_notes", sa.Text(), nullable=True),
        sa.Column("requested_at", WHEN, nullable=False, index=True),
        sa.Column("updated_at", WHEN, nullable=False),
        sa.Column("language", sa.String(16), nullable=False, index=True),
        sa.Column("channel", sa.String(32), nullable=False, index=True),
        sa.Column("unit", sa.String(300), nullable=True),
        sa.Column("audience", sa.String(32), nullable=True),
        sa.Column("conversation", sa.String(64), nullable=False, index=True),
        sa.Column("wants_reply", sa.Boolean(), nullable=False),
    )
    op.create_table(
        "feedback_contact",
        sa.Column(
            "feedback_id",
            sa.Integer(),
            sa.ForeignKey("feedback.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("method", sa.String(16), nullable=False),
        sa.Column("value", sa.String(320), nullable=False),
        sa.Column("consented_at", WHEN, nullable=False, index=True),
    )
    op.create_table(
        "feedback_status_change",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column(
            "feedback_id",
            sa.Integer(),
            sa.ForeignKey("feedback.id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        ),
        sa.Column("phase", sa.String(16), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("changed_at", WHEN, nullable=False),
        sa.Column("changed_by", sa.String(120), nullable=False),
    )
    op.create_table(
        "answer_rating",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("key", sa.String(64), nullable=False, unique=True),
        sa.Column("topic", sa.String(64), nullable=False, index=True),
        sa.Column("helpful", sa.Boolean(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("language", sa.String(16), nullable=False),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("conversation", sa.String(64), nullable=False),
        sa.Column("created_at", WHEN, nullable=False, index=True),
    )
    op.create_table(
        "unanswered_question",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("key", sa.String(64), nullable=False, unique=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("reason", sa.String(32), nullable=False, index=True),
        sa.Column("guesses", sa.Text(), nullable=False),
        sa.Column("language", sa.String(16), nullable=False, index=True),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("conversation", sa.String(64), nullable=False),
        sa.Column("created_at", WHEN, nullable=False, index=True),
        sa.Column("handled", sa.Boolean(), nullable=False, index=True),
    )


def downgrade() -> None:
    for table in (
        "unanswered_question",
        "answer_rating",
        "feedback_status_change",
        "feedback_contact",
        "feedback",
    ):
        op.drop_table(table)
