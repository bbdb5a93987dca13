"""The database state storage against real SQLite and real PostgreSQL, migrated by Alembic.

PostgreSQL: TEST_DATABASE_URL, default postgresql://postgres@127.0.0.1:5432/test;
each run works in a schema of its own and drops it. Where no server answers,
those tests are skipped with the reason shown in the summary.
"""

from __future__ import annotations

import asyncio
import os
import uuid

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from bot.storage.database import SchemaNotReady, create_database_engine, resolve_url
from bot.storage.migrate import upgrade
from bot.storage.state import SqlStorage, StateConflict

PG_URL = os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")


@pytest.fixture(scope="module")
def sqlite_engine(tmp_path_factory):
    engine = create_database_engine(f"sqlite:///{tmp_path_factory.mktemp('db') / 'state.db'}")
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def postgres_engine():
    schema = f"kasko_test_{uuid.uuid4().hex[:8]}"
    admin = create_engine(resolve_url(PG_URL))
    try:
        with admin.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    except OperationalError as error:
        pytest.skip(f"PostgreSQL not reachable at {PG_URL}: {type(error).__name__}")
    engine = create_engine(resolve_url(PG_URL), connect_args={"options": f"-csearch_path={schema}"})
    upgrade(engine)
    yield engine
    engine.dispose()
    with admin.begin() as connection:
        connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def engine(request):
    return request.getfixturevalue(f"{request.param}_engine")


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
