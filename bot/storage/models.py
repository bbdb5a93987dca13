"""Typed SQLAlchemy models. Every change to them comes with a migration in migrations/versions."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from bot.storage.database import Base


class BotStateRecord(Base):
    """One botbuilder state item (conversation or user state) as JSON, with its e-tag."""

    __tablename__ = "bot_state"

    key: Mapped[str] = mapped_column(String(1024), primary_key=True)
    e_tag: Mapped[str] = mapped_column(String(64))
    data: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
