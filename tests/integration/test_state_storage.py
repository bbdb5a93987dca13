"""The database state storage against real SQLite and real PostgreSQL, migrated by Alembic.

The `engine` fixture (tests/integration/conftest.py) runs each test on both.
"""

from __future__ import annotations

import asyncio
import uuid

import pytest

from bot.storage.database import SchemaNotReady, create_database_engine
from bot.storage.state import SqlStorage, StateConflict


async def test_write_read_delete_round_trip(engine):
    storage = SqlStorage(engine)
    key = f"directline/conversations/{uuid.uuid4().hex}"
    await storage.write({key: {"ConversationData": {"language": "sv", "level": None}}})
    stored = (await storage.read([key, "missing"]))[key]
    assert stored["ConversationData"] == {"language": "sv", "level": None}
    assert stored["e_tag"]
    await storage.delete([key])
    assert await storage.read([key]) == {}


async def test_stale_e_tag_is_refused(engine):
    storage = SqlStorage(engine)
    key = f"state-{uuid.uuid4().hex}"
    await storage.write({key: {"n": 1}})
    first = (await storage.read([key]))[key]
    second = (await storage.read([key]))[key]
    first["n"] = 2
    await storage.write({key: first})  # carries the e-tag it read: accepted
    second["n"] = 3
    with pytest.raises(StateConflict):
        await storage.write({key: second})  # read before the other write: refused
    assert (await storage.read([key]))[key]["n"] == 2
    forced = {"n": 4, "e_tag": "*"}
    await storage.write({key: forced})  # "*" means write regardless
    assert (await storage.read([key]))[key]["n"] == 4


async def test_two_storages_share_state(engine):
    """Two bot processes on one database see each other's writes."""
    first, second = SqlStorage(engine), SqlStorage(engine)
    key = f"state-{uuid.uuid4().hex}"
    await first.write({key: {"step": "level"}})
    assert (await second.read([key]))[key]["step"] == "level"


async def test_concurrent_creation_has_one_winner(engine):
    storage = SqlStorage(engine)
    key = f"state-{uuid.uuid4().hex}"
    results = await asyncio.gather(
        *(storage.write({key: {"writer": i, "e_tag": "new"}}) for i in range(5)),
        return_exceptions=True,
    )
    assert not [r for r in results if r is not None and not isinstance(r, StateConflict)]
    assert (await storage.read([key]))[key]["writer"] in range(5)


def test_unmigrated_database_is_a_clear_error(tmp_path):
    engine = create_database_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    with pytest.raises(SchemaNotReady, match="bot.storage.migrate"):
        SqlStorage(engine)
