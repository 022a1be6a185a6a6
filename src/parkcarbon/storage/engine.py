"""Opening the store: engine, SQLite pragmas, integrity check, migrations, backup.

SQLite (embedded default): WAL journal, ``synchronous=FULL`` (a commit is on disk when it
returns: the acknowledgement rule R17 relies on it), foreign keys on, a busy timeout, and
write transactions that start with ``BEGIN IMMEDIATE`` so two writers never deadlock.
An existing SQLite file is checked with ``PRAGMA quick_check`` before use; a corrupt or
empty file raises :class:`~parkcarbon.errors.StoreCorruptError` and is never replaced by a
new empty database (R18, OPS-06).

PostgreSQL: any ``postgresql+psycopg://`` URL (``postgresql://`` is mapped to psycopg 3).
"""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.engine import URL, make_url
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import StaticPool

from parkcarbon.errors import Location, StoreCorruptError, StoreError
from parkcarbon.settings import Settings, get_settings

__all__ = ["MIGRATIONS_DIR", "Store", "check_sqlite_file", "normalise_url", "open_store"]

MIGRATIONS_DIR = Path(__file__).with_name("migrations")


def normalise_url(url: str | URL) -> URL:
    """Parse a database URL; plain ``postgresql://`` uses the psycopg 3 driver."""
    u = make_url(url) if isinstance(url, str) else url
    if u.drivername in ("postgresql", "postgres"):
        u = u.set(drivername="postgresql+psycopg")
    return u


def _corrupt(path: Path, detail: str) -> StoreCorruptError:
    return StoreCorruptError(
        f"store corrupt: {detail}; restore from backup",
        message_zh=f"数据存储已损坏：{detail}；请从备份恢复",
        hint="stop ingest, keep the damaged file for analysis and restore the latest backup "
             "(parkcarbon data backup makes one); the platform never starts on an empty replacement",
        hint_zh="请停止数据接入，保留损坏文件以便分析，并恢复最近的备份（parkcarbon data backup 生成备份）；"
                "平台不会用空库替代",
        location=Location(file=str(path)),
    )


def check_sqlite_file(path: Path) -> None:
    """Raise :class:`StoreCorruptError` unless ``path`` is a healthy SQLite database.

    Runs ``PRAGMA quick_check``. An existing empty file is corrupt too (parkcarbon never leaves
    one behind: ``init`` migrates immediately), so a truncated store is never mistaken for a new one.
    """
    if path.stat().st_size == 0:
        raise _corrupt(path, f"{path.name} is empty (0 bytes)")
    try:
        con = sqlite3.connect(str(path), timeout=60)
        try:
            rows = con.execute("PRAGMA quick_check").fetchall()
        finally:
            con.close()
    except sqlite3.DatabaseError as exc:
        raise _corrupt(path, f"{path.name}: {exc}") from exc
    problems = [str(r[0]) for r in rows if r and r[0] != "ok"]
    if problems:
        raise _corrupt(path, f"{path.name}: " + "; ".join(problems[:5]))


def _install_sqlite_pragmas(engine: Engine, settings: Settings) -> None:
    busy_ms = int(settings.sqlite_busy_timeout_s * 1000)
    sync = settings.sqlite_synchronous

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # take transaction control away from the sqlite3 module (SQLAlchemy's documented recipe)
        dbapi_connection.isolation_level = None
        cur = dbapi_connection.cursor()
        cur.execute(f"PRAGMA busy_timeout = {busy_ms}")
        cur.execute("PRAGMA journal_mode = WAL")
        cur.execute(f"PRAGMA synchronous = {sync}")
        cur.execute("PRAGMA foreign_keys = ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")


class Store:
    """An open store: engine plus session factories. Use :func:`open_store` to get one.

    ``transaction()`` gives a :class:`~parkcarbon.storage.repository.Repository` in one write
    transaction (commit on success, rollback on any exception: all-or-nothing);
    ``reader()`` a repository for reads.
    """

    def __init__(self, engine: Engine, url: URL, settings: Settings) -> None:
        self.engine = engine
        self.url = url
        self.settings = settings
        self.backend: str = engine.dialect.name
        write_engine = engine.execution_options(sqlite_begin="IMMEDIATE") if self.backend == "sqlite" else engine
        self._write_sessions = sessionmaker(bind=write_engine, expire_on_commit=False)
        self._read_sessions = sessionmaker(bind=engine, expire_on_commit=False)

    def __repr__(self) -> str:
        return f"Store({self.url.render_as_string(hide_password=True)!r})"

    @property
    def sqlite_path(self) -> Path | None:
        """Path of the SQLite file, or None (PostgreSQL or in-memory)."""
        if self.backend != "sqlite" or self.url.database in (None, "", ":memory:"):
            return None
        return Path(str(self.url.database))

    # -- sessions ----------------------------------------------------------------------------

    @contextmanager
    def session(self, *, write: bool = True) -> Iterator[Session]:
        """A plain SQLAlchemy session in one transaction (commit on success, else rollback)."""
        factory = self._write_sessions if write else self._read_sessions
        with factory() as sess, sess.begin():
            yield sess

    @contextmanager
    def transaction(self) -> Iterator[Any]:
        """A :class:`Repository` in one write transaction; every exception rolls back everything."""
        from parkcarbon.storage.repository import Repository

        with self.session(write=True) as sess:
            yield Repository(sess)

    @contextmanager
    def reader(self) -> Iterator[Any]:
        """A :class:`Repository` for reads (its transaction is rolled back on exit if nothing was written)."""
        from parkcarbon.storage.repository import Repository

        with self.session(write=False) as sess:
            yield Repository(sess)

    # -- migrations --------------------------------------------------------------------------

    def alembic_config(self) -> Config:
        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
        cfg.set_main_option("sqlalchemy.url", self.url.render_as_string(hide_password=False).replace("%", "%%"))
        return cfg

    def upgrade(self, revision: str = "head") -> None:
        """Migrate the schema up to ``revision`` (Alembic)."""
        cfg = self.alembic_config()
        with self.engine.connect() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, revision)
            conn.commit()

    def downgrade(self, revision: str) -> None:
        """Migrate the schema down to ``revision`` (``base`` removes every table)."""
        cfg = self.alembic_config()
        with self.engine.connect() as conn:
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, revision)
            conn.commit()

    def current_revision(self) -> str | None:
        with self.engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()

    def head_revision(self) -> str | None:
        return ScriptDirectory.from_config(self.alembic_config()).get_current_head()

    def table_names(self) -> list[str]:
        return sorted(inspect(self.engine).get_table_names())

    # -- health and backup -------------------------------------------------------------------

    def integrity_check(self) -> list[str]:
        """Full integrity check: ``['ok']`` when healthy (SQLite ``PRAGMA integrity_check``; PostgreSQL ``SELECT 1``)."""
        with self.engine.connect() as conn:
            if self.backend == "sqlite":
                return [str(r[0]) for r in conn.exec_driver_sql("PRAGMA integrity_check").fetchall()]
            conn.exec_driver_sql("SELECT 1")
            return ["ok"]

    def backup(self, out: str | Path) -> Path:
        """Take a consistent online backup (R18): SQLite backup API; PostgreSQL ``pg_dump -Fc``.

        Never a raw copy of the live file. Refuses to overwrite an existing file.
        """
        out = Path(out)
        if out.exists():
            raise StoreError(f"backup target {out} exists", message_zh=f"备份目标 {out} 已存在",
                             hint="choose a new file name", hint_zh="请换一个文件名")
        out.parent.mkdir(parents=True, exist_ok=True)
        if self.backend == "sqlite":
            path = self.sqlite_path
            if path is None:
                raise StoreError("an in-memory store cannot be backed up", message_zh="内存数据库无法备份")
            src = sqlite3.connect(str(path), timeout=60)
            dst = sqlite3.connect(str(out))
            try:
                src.backup(dst)
            finally:
                dst.close()
                src.close()
            check_sqlite_file(out)
            return out
        pg_dump = shutil.which("pg_dump")
        if pg_dump is None:
            raise StoreError("pg_dump not found on PATH", message_zh="未找到 pg_dump",
                             hint="install the PostgreSQL client tools", hint_zh="请安装 PostgreSQL 客户端工具")
        libpq_url = self.url.set(drivername="postgresql").render_as_string(hide_password=False)
        proc = subprocess.run([pg_dump, "-Fc", "-f", str(out), "--dbname", libpq_url],
                              capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            out.unlink(missing_ok=True)
            raise StoreError(f"pg_dump failed: {proc.stderr.strip()}", message_zh=f"pg_dump 失败：{proc.stderr.strip()}")
        return out

    def dispose(self) -> None:
        self.engine.dispose()


def open_store(url: str | URL | None = None, *, settings: Settings | None = None,
               create: bool = True, migrate: bool = True) -> Store:
    """Open (and by default create and migrate) the store at ``url`` (default: settings).

    * SQLite file that exists: ``PRAGMA quick_check`` first; corrupt or empty →
      :class:`StoreCorruptError` (never a new empty store).
    * SQLite file that does not exist: created only if ``create`` (``parkcarbon data init``).
    * ``migrate``: upgrade the schema to the newest revision.
    """
    settings = settings or get_settings()
    u = normalise_url(url or settings.database_url)
    kwargs: dict[str, Any] = {}
    if u.get_backend_name() == "sqlite":
        db = u.database
        if db in (None, "", ":memory:"):
            kwargs["poolclass"] = StaticPool
            kwargs["connect_args"] = {"check_same_thread": False}
        else:
            path = Path(db)
            if path.exists():
                check_sqlite_file(path)
            elif not create:
                raise StoreError(
                    f"store {path} does not exist",
                    message_zh=f"数据存储 {path} 不存在",
                    hint="create it with: parkcarbon data init",
                    hint_zh="请先运行 parkcarbon data init 创建",
                )
            else:
                path.parent.mkdir(parents=True, exist_ok=True)
            kwargs["connect_args"] = {"timeout": settings.sqlite_busy_timeout_s, "check_same_thread": False}
    else:
        kwargs["pool_pre_ping"] = True
    engine = create_engine(u, **kwargs)
    if engine.dialect.name == "sqlite":
        _install_sqlite_pragmas(engine, settings)
    store = Store(engine, u, settings)
    try:
        if migrate:
            store.upgrade("head")
    except Exception:
        engine.dispose()
        raise
    return store
