"""Where the event database is, how to reach it, and bringing its schema up to date.

- ``database_url(flag, base_dir, env)``: the flag, else ``STREAMVAULT_DATABASE_URL``, else
  SQLite at ``BASE/.streamvault/streamvault.sqlite3`` (SPEC §12);
- :func:`create_engine` maps ``postgresql://`` to asyncpg and ``sqlite://`` to aiosqlite;
- :func:`migrate` applies the Alembic migrations before anything else touches the tables.
  Several processes may start at once against one PostgreSQL database: an advisory lock makes
  them take turns.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import event, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from ..errors import ConfigError

log = logging.getLogger(__name__)
# Alembic logs every step at INFO; one line of ours says the schema is ready.
logging.getLogger("alembic").setLevel(logging.WARNING)

ENV_VAR = "STREAMVAULT_DATABASE_URL"
DOT_DIR = ".streamvault"
SQLITE_NAME = "streamvault.sqlite3"
MIGRATIONS = os.path.join(os.path.dirname(__file__), "migrations")
#: Any number; PostgreSQL advisory locks are keyed by integers.
MIGRATION_LOCK = 0x5354_5641_554C  # "STVAUL"
#: Connections a process keeps to the database at most.
POOL_SIZE = 5


def default_url(base_dir: str) -> str:
    return "sqlite:///" + os.path.abspath(os.path.join(base_dir, DOT_DIR, SQLITE_NAME))


def database_url(flag: str | None, base_dir: str, env: Mapping[str, str] | None = None) -> str:
    env = os.environ if env is None else env
    return flag or env.get(ENV_VAR) or default_url(base_dir)


def async_url(url: str) -> str:
    """The SQLAlchemy URL with its async driver: asyncpg or aiosqlite."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ConfigError(f"not a database URL: {redact(url)}") from None
    backend = parsed.get_backend_name()
    if backend in ("postgresql", "postgres"):
        return parsed.set(drivername="postgresql+asyncpg").render_as_string(hide_password=False)
    if backend == "sqlite":
        return parsed.set(drivername="sqlite+aiosqlite").render_as_string(hide_password=False)
    raise ConfigError(f"unsupported database {backend!r}: use postgresql:// or sqlite://")


def redact(url: str) -> str:
    """The URL without its password, for logs and errors."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<unparseable URL>"


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")  # readers never wait for the writer
    cursor.execute("PRAGMA busy_timeout=30000")  # writers wait their turn for up to 30 s
    cursor.close()


def create_engine(url: str) -> AsyncEngine:
    driver_url = async_url(url)
    if driver_url.startswith("sqlite"):
        path = make_url(driver_url).database
        if path and path != ":memory:":
            os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        engine = create_async_engine(driver_url, connect_args={"timeout": 30})
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    return create_async_engine(
        driver_url, pool_size=POOL_SIZE, max_overflow=0, pool_timeout=60, pool_pre_ping=True
    )


def _upgrade(connection: Connection) -> None:
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
    config = Config()
    config.set_main_option("script_location", MIGRATIONS)
    config.attributes["connection"] = connection
    command.upgrade(config, "head")


async def migrate(engine: AsyncEngine) -> None:
    """Apply every migration not applied yet (versioned by Alembic's ``alembic_version``).

    A database that cannot be reached or migrated is a ConfigError naming it.
    """
    url = engine.url.render_as_string(hide_password=True)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(_upgrade)
    except (SQLAlchemyError, OSError) as err:
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise ConfigError(f"database {url}: {reason}") from err
    log.info("events database %s is up to date", url)
