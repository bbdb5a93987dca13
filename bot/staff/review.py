"""What staff review: feedback (filters, detail, status changes, exports), the quality
dashboard's figures and the unanswered questions, grouped (synchronous database code).
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, and_, func, or_, select
from sqlalchemy.orm import selectinload

from bot.storage.database import session_factory
from bot.storage.models import (
    AnswerRatingRecord,
    FeedbackRecord,
    FeedbackStatusChange,
    UnansweredQuestionRecord,
)

PHASES = ("received", "allocated", "handling", "done")
PAGE_SIZE = 25
STAFF_TIME_ZONE = ZoneInfo("Europe/Helsinki")  # times shown and days filtered as staff live them
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass
class FeedbackFilter:
    phase: str = ""
    service_code: str = ""
    language: str = ""
    channel: str = ""
    unit: str = ""
    since: date | None = None
    until: date | None = None
    q: str = ""
    page: int = 1

    @classmethod
    def from_query(cls, query) -> FeedbackFilter:
        def day(name: str) -> date | None:
            try:
                return date.fromisoformat(query.get(name, ""))
            except ValueError:
                return None

        try:
            page = max(1, min(10_000, int(query.get("page", "1"))))
        except ValueError:
            page = 1
        return cls(
            phase=query.get("phase", "") if query.get("phase") in PHASES else "",
            service_code=query.get("service_code", "")[:64],
            language=query.get("language", "")[:16],
            channel=query.get("channel", "")[:32],
            unit=query.get("unit", "")[:100],
            since=day("since"),
            until=day("until"),
            q=query.get("q", "")[:200],
            page=page,
        )

    def conditions(self) -> list:
        found = []
        if self.phase:
            found.append(FeedbackRecord.phase == self.phase)
        if self.service_code:
            found.append(FeedbackRecord.service_code == self.service_code)
        if self.language:
            found.append(FeedbackRecord.language == self.language)
        if self.channel:
            found.append(FeedbackRecord.channel == self.channel)
        if self.unit:
            found.append(FeedbackRecord.unit.ilike(f"%{_like(self.unit)}%", escape="\\"))
        if self.since:
            found.append(FeedbackRecord.requested_at >= day_start(self.since))
        if self.until:
            end = day_start(self.until + timedelta(days=1))
            found.append(FeedbackRecord.requested_at < end)
        if self.q:
            pattern = f"%{_like(self.q)}%"
            found.append(
                or_(
                    FeedbackRecord.description.ilike(pattern, escape="\\"),
                    FeedbackRecord.title.ilike(pattern, escape="\\"),
                    FeedbackRecord.reference.ilike(pattern, escape="\\"),
                )
            )
        return found

    def query_string(self, **changes) -> str:
        from urllib.parse import urlencode

        values = {
            "phase": self.phase,
            "service_code": self.service_code,
            "language": self.language,
            "channel": self.channel,
            "unit": self.unit,
            "since": self.since.isoformat() if self.since else "",
            "until": self.until.isoformat() if self.until else "",
            "q": self.q,
            "page": self.page,
        }
        values.update(changes)
        return urlencode({k: v for k, v in values.items() if v not in ("", None)})


def day_start(day: date) -> datetime:
    """Midnight of a day in Helsinki, in UTC as stored: staff filter by their own days."""
    return datetime.combine(day, time(), STAFF_TIME_ZONE).astimezone(UTC)


def local_time(moment: datetime, with_seconds: bool = False) -> str:
    """A stored time (UTC) as Helsinki's clock shows it."""
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    pattern = "%Y-%m-%d %H:%M:%S" if with_seconds else "%Y-%m-%d %H:%M"
    return aware.astimezone(STAFF_TIME_ZONE).strftime(pattern)


def _like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


@dataclass
class Page:
    items: list[FeedbackRecord]
    total: int
    by_phase: dict[str, int]
    page: int
    pages: int
    options: dict[str, list[str]] = field(default_factory=dict)
    category_names: dict[str, str] = field(default_factory=dict)  # service_code -> its name


def neutralise(cell: object) -> str:
    """A spreadsheet never runs a cell as a formula: one that starts like one gets a quote."""
    text = "" if cell is None else str(cell)
    return "'" + text if text.startswith(_FORMULA_START) else text


def iso(moment: datetime | None) -> str:
    if moment is None:
        return ""
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


CSV_COLUMNS = (
    "reference",
    "requested_at",
    "phase",
    "status",
    "service_code",
    "service_name",
    "title",
    "description",
    "unit",
    "language",
    "channel",
    "audience",
    "wants_reply",
)


def csv_text(rows: list[list[object]], header: tuple[str, ...]) -> str:
    """RFC 4180: CRLF line ends, every field quoted, cells neutralised against formulas."""
    out = io.StringIO()
    writer = csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([neutralise(cell) for cell in row])
    return out.getvalue()


class Review:
    def __init__(self, engine: Engine) -> None:
        self._sessions = session_factory(engine)

    # -- feedback --------------------------------------------------------------------------

    def page(self, chosen: FeedbackFilter) -> Page:
        where = and_(*chosen.conditions()) if chosen.conditions() else True
        with self._sessions() as session:
            total = session.scalar(select(func.count(FeedbackRecord.id)).where(where)) or 0
            pages = max(1, (total + PAGE_SIZE - 1) // PAGE_SIZE)
            current = min(chosen.page, pages)
            items = list(
                session.scalars(
                    select(FeedbackRecord)
                    .where(where)
                    .order_by(FeedbackRecord.requested_at.desc(), FeedbackRecord.id.desc())
                    .limit(PAGE_SIZE)
                    .offset((current - 1) * PAGE_SIZE)
                )
            )
            by_phase = dict(
                session.execute(
                    select(FeedbackRecord.phase, func.count(FeedbackRecord.id))
                    .where(where)
                    .group_by(FeedbackRecord.phase)
                ).all()
            )
            options = {
                name: sorted(
                    value
                    for value in session.scalars(select(column).distinct())
                    if value is not None
                )
                for name, column in (
                    ("service_code", FeedbackRecord.service_code),
                    ("language", FeedbackRecord.language),
                    ("channel", FeedbackRecord.channel),
                )
            }
            names = dict(
                session.execute(
                    select(FeedbackRecord.service_code, FeedbackRecord.service_name).distinct()
                ).all()
            )
        return Page(items, total, by_phase, current, pages, options, names)

    def all_matching(self, chosen: FeedbackFilter) -> list[FeedbackRecord]:
        where = and_(*chosen.conditions()) if chosen.conditions() else True
        with self._sessions() as session:
            return list(
                session.scalars(
                    select(FeedbackRecord).where(where).order_by(FeedbackRecord.requested_at.desc())
                )
            )

    def feedback(self, reference: str) -> FeedbackRecord | None:
        with self._sessions() as session:
            return session.scalar(
                select(FeedbackRecord)
                .options(selectinload(FeedbackRecord.history), selectinload(FeedbackRecord.contact))
                .where(FeedbackRecord.reference == reference)
            )

    def change_phase(self, reference: str, phase: str, note: str, actor: str) -> bool:
        if phase not in PHASES:
            raise ValueError(f"unknown phase {phase!r}")
        now = datetime.now(UTC)
        with self._sessions.begin() as session:
            row = session.scalar(
                select(FeedbackRecord).where(FeedbackRecord.reference == reference)
            )
            if row is None:
                return False
            row.phase = phase
            row.status = "closed" if phase == "done" else "open"
            row.updated_at = now
            if note:
                row.status_notes = note
            session.add(
                FeedbackStatusChange(
                    feedback_id=row.id,
                    phase=phase,
                    note=note or None,
                    changed_at=now,
                    changed_by=actor,
                )
            )
            return True

    def csv(self, rows: list[FeedbackRecord]) -> str:
        return csv_text(
            [
                [
                    r.reference,
                    iso(r.requested_at),
                    r.phase,
                    r.status,
                    r.service_code,
                    r.service_name,
                    r.title,
                    r.description,
                    r.unit,
                    r.language,
                    r.channel,
                    r.audience,
                    "yes" if r.wants_reply else "no",
                ]
                for r in rows
            ],
            CSV_COLUMNS,
        )

    @staticmethod
    def open311(row: FeedbackRecord) -> dict:
        """The record as an Open311 GeoReport v2 service request (Helsinki's fields)."""
        return {
            "service_request_id": row.reference,
            "status": row.status,
            "status_notes": row.status_notes,
            "service_name": row.service_name,
            "service_code": row.service_code,
            "title": row.title,
            "description": row.description,
            "requested_datetime": iso(row.requested_at),
            "updated_datetime": iso(row.updated_at),
            "extended_attributes": {
                "phase": row.phase,
                "language": row.language,
                "channel": row.channel,
                "unit": row.unit,
                "audience": row.audience,
                "history": [
                    {"phase": h.phase, "note": h.note, "at": iso(h.changed_at), "by": h.changed_by}
                    for h in row.history
                ],
            },
            **(
                {
                    "email": row.contact.value if row.contact.method == "email" else None,
                    "phone": row.contact.value if row.contact.method == "phone" else None,
                }
                if row.contact
                else {}
            ),
        }

    # -- dashboard -------------------------------------------------------------------------

    def dashboard(self, weeks: int = 8) -> dict:
        since = datetime.now(UTC) - timedelta(weeks=weeks)
        with self._sessions() as session:
            feedback = session.execute(
                select(
                    FeedbackRecord.requested_at,
                    FeedbackRecord.service_code,
                    FeedbackRecord.language,
                    FeedbackRecord.channel,
                    FeedbackRecord.service_name,
                ).where(FeedbackRecord.requested_at >= since)
            ).all()
            ratings = session.execute(
                select(AnswerRatingRecord.topic, AnswerRatingRecord.helpful)
            ).all()
        per_week: dict[str, Counter] = defaultdict(Counter)
        for requested, code, _language, _channel, _name in feedback:
            moment = requested if requested.tzinfo else requested.replace(tzinfo=UTC)
            year, week, _ = moment.isocalendar()
            per_week[f"{year}-W{week:02d}"][code] += 1
        helpful: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        for topic, is_helpful in ratings:
            helpful[topic][0 if is_helpful else 1] += 1
        return {
            "per_week": dict(sorted(per_week.items())),
            "ratings": dict(sorted(helpful.items())),
            "languages": Counter(row[2] for row in feedback),
            "channels": Counter(row[3] for row in feedback),
            "top_unanswered": self.unanswered_groups()[:10],
            "category_names": {row[1]: row[4] for row in feedback},
        }

    # -- unanswered questions --------------------------------------------------------------

    def unanswered_groups(self, show_handled: bool = False) -> list[dict]:
        with self._sessions() as session:
            query = select(UnansweredQuestionRecord).order_by(UnansweredQuestionRecord.id.desc())
            if not show_handled:
                query = query.where(UnansweredQuestionRecord.handled.is_(False))
            rows = list(session.scalars(query.limit(5000)))
        groups: dict[str, dict] = {}
        for row in rows:
            key = question_key(row.text)
            group = groups.setdefault(key, new_group(key))
            group["texts"].append(row.text)
            group["ids"].append(row.id)
            if not row.handled:
                group["open_ids"].append(row.id)
            group["languages"][row.language] += 1
            group["reasons"][row.reason] += 1
            for guess in json.loads(row.guesses or "[]")[:1]:
                group["guesses"][guess.get("intent", "?")] += 1
        merged = merge_similar(list(groups.values()))
        return sorted(merged, key=lambda g: len(g["ids"]), reverse=True)

    def mark_handled(self, ids: list[int]) -> int:
        with self._sessions.begin() as session:
            rows = session.scalars(
                select(UnansweredQuestionRecord).where(UnansweredQuestionRecord.id.in_(ids))
            ).all()
            for row in rows:
                row.handled = True
            return len(rows)


_WORD = re.compile(r"\w+", re.UNICODE)


def question_key(text: str) -> str:
    """Questions that differ only in case, punctuation and spacing share a key."""
    return " ".join(_WORD.findall(text.casefold()))


def new_group(key: str) -> dict:
    """Questions that share a key: their texts, ids, and what is known about them."""
    return {
        "key": key,
        "texts": [],
        "ids": [],
        "open_ids": [],  # not yet marked handled: what the button marks
        "languages": Counter(),
        "reasons": Counter(),
        "guesses": Counter(),
    }


def _similar(a: set[str], b: set[str]) -> bool:
    return bool(a and b) and len(a & b) / len(a | b) >= 0.6


def merge_similar(groups: list[dict]) -> list[dict]:
    """Greedy: a group joins the first earlier group whose words overlap by 60% (Jaccard)."""
    merged: list[dict] = []
    for group in sorted(groups, key=lambda g: len(g["ids"]), reverse=True):
        words = set(group["key"].split())
        home = next((m for m in merged if _similar(words, m["words"])), None)
        if home is None:
            merged.append({**group, "words": words})
            continue
        home["texts"] += group["texts"]
        home["ids"] += group["ids"]
        home["open_ids"] += group["open_ids"]
        for counter in ("languages", "reasons", "guesses"):
            home[counter] += group[counter]
    return merged
