"""Typed SQLAlchemy models. Every change to them comes with a migration in migrations/versions."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bot.storage.database import Base


class BotStateRecord(Base):
    """One botbuilder state item (conversation or user state) as JSON, with its e-tag."""

    __tablename__ = "bot_state"

    key: Mapped[str] = mapped_column(String(1024), primary_key=True)
    e_tag: Mapped[str] = mapped_column(String(64))
    data: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


class FeedbackRecord(Base):
    """One feedback, shaped after the city's Open311 service request (docs/feedback.md).

    `reference` is the service_request_id shown to the user. `status` is Open311's
    open/closed; the finer phase (received -> allocated -> handling -> done) and its
    history are in FeedbackStatusChange. Contact details live in FeedbackContact,
    apart from the text, and only when the user consented.
    """

    __tablename__ = "feedback"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    reference: Mapped[str] = mapped_column(String(20), unique=True)
    service_code: Mapped[str] = mapped_column(String(64), index=True)
    service_name: Mapped[str] = mapped_column(String(200))
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="open", index=True)
    phase: Mapped[str] = mapped_column(String(16), default="received", index=True)
    status_notes: Mapped[str | None] = mapped_column(Text)
    requested_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    language: Mapped[str] = mapped_column(String(16), index=True)
    channel: Mapped[str] = mapped_column(String(32), index=True)
    unit: Mapped[str | None] = mapped_column(String(300))
    audience: Mapped[str | None] = mapped_column(String(32))
    conversation: Mapped[str] = mapped_column(String(64), index=True)
    wants_reply: Mapped[bool] = mapped_column(Boolean, default=False)

    contact: Mapped[FeedbackContact | None] = relationship(
        back_populates="feedback", cascade="all, delete-orphan", uselist=False
    )
    history: Mapped[list[FeedbackStatusChange]] = relationship(
        back_populates="feedback",
        cascade="all, delete-orphan",
        order_by="FeedbackStatusChange.id",
    )


class FeedbackContact(Base):
    """Contact details a user gave, with consent, for a reply to one feedback."""

    __tablename__ = "feedback_contact"

    feedback_id: Mapped[int] = mapped_column(
        ForeignKey("feedback.id", ondelete="CASCADE"), primary_key=True
    )
    method: Mapped[str] = mapped_column(String(16))  # email or phone
    value: Mapped[str] = mapped_column(String(320))
    consented_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)

    feedback: Mapped[FeedbackRecord] = relationship(back_populates="contact")


class FeedbackStatusChange(Base):
    """One step of a feedback's history: received, allocated, handling or done."""

    __tablename__ = "feedback_status_change"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    feedback_id: Mapped[int] = mapped_column(
        ForeignKey("feedback.id", ondelete="CASCADE"), index=True
    )
    phase: Mapped[str] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(Text)
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    changed_by: Mapped[str] = mapped_column(String(120))

    feedback: Mapped[FeedbackRecord] = relationship(back_populates="history")


class AnswerRatingRecord(Base):
    """A "Did this help?" answer to one topic answer; `key` makes a re-click an update."""

    __tablename__ = "answer_rating"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    topic: Mapped[str] = mapped_column(String(64), index=True)
    helpful: Mapped[bool] = mapped_column(Boolean)
    comment: Mapped[str | None] = mapped_column(Text)
    language: Mapped[str] = mapped_column(String(16))
    channel: Mapped[str] = mapped_column(String(32))
    conversation: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


class UnansweredQuestionRecord(Base):
    """A question the assistant could not answer, with its top NLU guesses (JSON)."""

    __tablename__ = "unanswered_question"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    text: Mapped[str] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(String(32), index=True)
    guesses: Mapped[str] = mapped_column(Text)
    language: Mapped[str] = mapped_column(String(16), index=True)
    channel: Mapped[str] = mapped_column(String(32))
    conversation: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    handled: Mapped[bool] = mapped_column(Boolean, default=False, index=True)


class DirectLineConversationRecord(Base):
    """A Direct Line conversation; its transcript is deleted when idle past the time-to-live.

    `length` is the number of its activities: the next one's `seq`.
    """

    __tablename__ = "dl_conversation"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_used_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    length: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class DirectLineActivityRecord(Base):
    """One activity of a Direct Line conversation; `seq` is its place (the watermark)."""

    __tablename__ = "dl_activity"

    conversation_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    data: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class RateLimitRecord(Base):
    """Requests of one key (client address or conversation) in its latest one-minute
    window, and in the window before that (bot/ratelimit.py: a sliding minute)."""

    __tablename__ = "rate_limit"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    window_start: Mapped[int] = mapped_column(Integer)
    count: Mapped[int] = mapped_column(Integer)
    previous: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class StaffUser(Base):
    """A staff account: argon2 password hash, role, and the lockout after failed logins."""

    __tablename__ = "staff_user"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(120), unique=True)
    password_hash: Mapped[str] = mapped_column(String(300))
    role: Mapped[str] = mapped_column(String(16))  # reviewer or admin
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class StaffSession(Base):
    """A signed-in browser: only the token's SHA-256 is stored; the CSRF token is per session."""

    __tablename__ = "staff_session"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("staff_user.id", ondelete="CASCADE"), index=True
    )
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


class AuditEvent(Base):
    """Who viewed, changed or exported what, and when."""

    __tablename__ = "audit_event"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    actor: Mapped[str] = mapped_column(String(120), index=True)
    action: Mapped[str] = mapped_column(String(40), index=True)
    target: Mapped[str | None] = mapped_column(String(200))
    detail: Mapped[str | None] = mapped_column(Text)
