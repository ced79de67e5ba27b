"""Connections, the SQL dialect layer and the migration runner.

One code path serves both backends. SQL is written once with ``?`` placeholders in the
subset SQLite and PostgreSQL share; :class:`Dialect` only translates what genuinely
differs: the placeholder (``?`` vs ``%s``), the full-text search SQL (FTS5 vs tsvector)
and the statement splitting of migration scripts.

Migrations live in ``migrations/NNNN_name.sql`` and are applied in version order, each in
its own transaction, and recorded in ``schema_migrations``. A version whose SQL cannot be
shared ships as ``NNNN_name.sqlite.sql`` plus ``NNNN_name.postgresql.sql`` instead of a
common file; there is no token substitution inside files.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from huiqi.errors import HuiqiError

if TYPE_CHECKING:
    from huiqi.policybase.store import PolicyBase

Backend = Literal["sqlite", "postgresql"]
Row = dict[str, Any]

# Any constant works; it only has to be the same for every process migrating one database.
_PG_MIGRATION_LOCK = 0x48554951  # "HUIQ"
_MIGRATION_NAME = re.compile(r"^(\d{4})_([A-Za-z0-9_]+?)(?:\.(sqlite|postgresql))?\.sql$")


def utc_now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat()


@dataclass(frozen=True)
class Dialect:
    name: Backend

    def sql(self, text: str) -> str:
        """Translate portable SQL (``?`` placeholders) to this backend's paramstyle."""
        if self.name == "sqlite":
            return text
        # psycopg treats every % as the start of a placeholder, quoted or not.
        out: list[str] = []
        in_quote = False
        for ch in text:
            if ch == "'":
                in_quote = not in_quote
            if ch == "%":
                out.append("%%")
            elif ch == "?" and not in_quote:
                out.append("%s")
            else:
                out.append(ch)
        return "".join(out)

    def upsert(self, table: str, columns: Sequence[str], key: Sequence[str], keep: Sequence[str] = ()) -> str:
        """INSERT ... ON CONFLICT DO UPDATE; both backends accept this exact syntax.

        ``keep`` names columns that keep their stored value on update (e.g. first-seen times).
        """
        cols = ", ".join(columns)
        marks = ", ".join("?" for _ in columns)
        updates = ", ".join(f"{c} = excluded.{c}" for c in columns if c not in key and c not in keep)
        return (
            f"INSERT INTO {table} ({cols}) VALUES ({marks}) "
            f"ON CONFLICT ({', '.join(key)}) DO UPDATE SET {updates}"
        )

    # Full-text search. Both backends index measures.segmented (jieba tokens joined by
    # spaces) so that a query segmented the same way matches on word boundaries.

    def fts_query(self, terms: Sequence[str]) -> str:
        """The parameter passed to :meth:`search_sql`: every term must occur."""
        if self.name == "sqlite":
            # Quoted strings are FTS5 phrases, so user text can never be read as syntax.
            return " ".join('"' + t.replace('"', '""') + '"' for t in terms)
        # plainto_tsquery ANDs the words and has no syntax to inject into.
        return " ".join(terms)

    def search_sql(self) -> str:
        """Rows (document_id, ord, score) best first; params: (fts_query, limit). Higher score is better."""
        if self.name == "sqlite":
            return (
                "SELECT document_id, ord, -bm25(measures_fts) AS score FROM measures_fts "
                "WHERE measures_fts MATCH ? ORDER BY bm25(measures_fts), document_id, ord LIMIT ?"
            )
        return (
            "SELECT m.document_id, m.ord, ts_rank(m.search_vector, q, 1) AS score "
            "FROM measures m, plainto_tsquery('simple', ?) AS q "
            "WHERE m.search_vector @@ q ORDER BY score DESC, m.document_id, m.ord LIMIT ?"
        )

    @property
    def index_sql(self) -> str | None:
        """Insert one measure into a separate search index; None when the index follows the table."""
        if self.name == "sqlite":
            return "INSERT INTO measures_fts (segmented, document_id, ord) VALUES (?, ?, ?)"
        return None  # measures.search_vector is a generated column

    @property
    def unindex_sql(self) -> str | None:
        if self.name == "sqlite":
            return "DELETE FROM measures_fts WHERE document_id = ?"
        return None

    def split_script(self, script: str) -> list[str]:
        if self.name == "postgresql":
            return [script]  # psycopg runs a multi-statement script when given no parameters
        statements: list[str] = []
        buf = ""
        for line in script.splitlines(keepends=True):
            buf += line
            if sqlite3.complete_statement(buf):
                if _strip_comments(buf):
                    statements.append(buf.strip())
                buf = ""
        if _strip_comments(buf):
            statements.append(buf.strip())
        return statements


def _strip_comments(sql: str) -> str:
    return "\n".join(line for line in sql.splitlines() if not line.strip().startswith("--")).strip()


@dataclass(frozen=True)
class Migration:
    version: str
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode("utf-8")).hexdigest()


def load_migrations(dialect: Dialect) -> list[Migration]:
    """The migrations for ``dialect`` in version order (one file per version)."""
    by_version: dict[str, dict[str | None, tuple[str, str]]] = {}
    folder = resources.files("huiqi.policybase").joinpath("migrations")
    for entry in folder.iterdir():
        m = _MIGRATION_NAME.match(entry.name)
        if not m:
            continue
        version, name, flavour = m.group(1), m.group(2), m.group(3)
        by_version.setdefault(version, {})[flavour] = (name, entry.read_text(encoding="utf-8"))
    out: list[Migration] = []
    for version in sorted(by_version):
        files = by_version[version]
        if None in files and len(files) > 1:
            raise RuntimeError(f"migration {version} has both a common and a dialect-specific file")
        chosen = files.get(dialect.name) or files.get(None)
        if chosen is None:
            raise RuntimeError(f"migration {version} has no file for {dialect.name}")
        out.append(Migration(version, chosen[0], chosen[1]))
    return out


class Database:
    """A DB-API connection plus its dialect; rows come back as dicts."""

    def __init__(self, conn: Any, dialect: Dialect, url: str) -> None:
        self.conn = conn
        self.dialect = dialect
        self.url = url
        self._depth = 0

    def _cursor(self) -> Any:
        return self.conn.cursor()

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        cur = self._cursor()
        try:
            cur.execute(self.dialect.sql(sql), tuple(params))
        finally:
            cur.close()

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        batch = [tuple(r) for r in rows]
        if not batch:
            return
        cur = self._cursor()
        try:
            cur.executemany(self.dialect.sql(sql), batch)
        finally:
            cur.close()

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        cur = self._cursor()
        try:
            cur.execute(self.dialect.sql(sql), tuple(params))
            names = [d[0] for d in cur.description]
            return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
        finally:
            cur.close()

    def scalar(self, sql: str, params: Sequence[Any] = ()) -> Any:
        rows = self.query(sql, params)
        if not rows:
            return None
        return next(iter(rows[0].values()))

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """All-or-nothing; a nested call joins the enclosing transaction."""
        if self._depth:
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
            return
        self._depth = 1
        try:
            if self.dialect.name == "sqlite":
                # IMMEDIATE takes the write lock up front, so two writers queue on busy_timeout
                # instead of one failing when it upgrades a read lock.
                self.conn.execute("BEGIN IMMEDIATE")
                try:
                    yield
                except BaseException:
                    self.conn.execute("ROLLBACK")
                    raise
                self.conn.execute("COMMIT")
            else:
                with self.conn.transaction():
                    yield
        finally:
            self._depth = 0

    def _run_script(self, script: str) -> None:
        for statement in self.dialect.split_script(script):
            cur = self._cursor()
            try:
                cur.execute(statement)  # no parameters: runs verbatim
            finally:
                cur.close()

    def migrate(self) -> list[str]:
        """Apply pending migrations; returns the versions applied now."""
        self._run_script(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            "version TEXT PRIMARY KEY, name TEXT NOT NULL, checksum TEXT NOT NULL, applied_at TEXT NOT NULL)"
        )
        known = load_migrations(self.dialect)
        applied_now: list[str] = []
        with self.transaction():
            if self.dialect.name == "postgresql":
                self.query("SELECT pg_advisory_xact_lock(?)", (_PG_MIGRATION_LOCK,))
            applied = {
                r["version"]: r for r in self.query("SELECT version, name, checksum FROM schema_migrations")
            }
            newer = sorted(set(applied) - {m.version for m in known})
            if newer:
                raise HuiqiError(
                    f"政策库的结构版本({newer[-1]})比当前程序新,无法打开",
                    file=self.url,
                    hint="请升级 huiqi 后再打开该政策库",
                )
            for mig in known:
                row = applied.get(mig.version)
                if row is not None:
                    if row["checksum"] != mig.checksum:
                        raise HuiqiError(
                            f"迁移 {mig.version}_{mig.name} 在应用后被修改过,政策库结构可能与程序不一致",
                            file=self.url,
                            hint="已发布的迁移文件不可修改,请新增一个迁移文件",
                        )
                    continue
                self._run_script(mig.sql)
                self.execute(
                    "INSERT INTO schema_migrations (version, name, checksum, applied_at) VALUES (?, ?, ?, ?)",
                    (mig.version, mig.name, mig.checksum, utc_now()),
                )
                applied_now.append(mig.version)
        return applied_now

    def schema_version(self) -> str | None:
        return self.scalar("SELECT MAX(version) FROM schema_migrations")

    def close(self) -> None:
        self.conn.close()


def _sqlite_path(url_or_path: str) -> str:
    if url_or_path in (":memory:", "sqlite://", "sqlite:///:memory:"):
        return ":memory:"
    if url_or_path.startswith("sqlite:///"):
        # SQLAlchemy convention: sqlite:///relative.db, sqlite:////absolute.db
        return url_or_path[len("sqlite:///") :]
    if url_or_path.startswith("sqlite:"):
        raise HuiqiError(
            f"无法识别的 SQLite 地址:{url_or_path}", hint="请使用 sqlite:///路径 或直接给出文件路径"
        )
    return url_or_path


def open_database(url_or_path: str) -> Database:
    """Open (creating if needed) and migrate the database at ``url_or_path``."""
    if not url_or_path or not url_or_path.strip():
        raise HuiqiError("未指定政策库路径", hint="给出文件路径、sqlite:///路径 或 postgresql://…")
    if url_or_path.startswith(("postgresql://", "postgres://")):
        db = _open_postgres(url_or_path)
    elif re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*://", url_or_path) and not url_or_path.startswith("sqlite:"):
        raise HuiqiError(f"不支持的数据库地址:{url_or_path}", hint="支持 SQLite 文件路径与 postgresql://")
    else:
        db = _open_sqlite(_sqlite_path(url_or_path))
    try:
        db.migrate()
    except BaseException:
        db.close()
        raise
    return db


def _open_sqlite(path: str) -> Database:
    if path != ":memory:":
        Path(path).expanduser().parent.mkdir(parents=True, exist_ok=True)
    try:
        # isolation_level=None: the driver never opens transactions behind our back;
        # Database.transaction() issues BEGIN/COMMIT itself.
        conn = sqlite3.connect(
            str(Path(path).expanduser()) if path != ":memory:" else path, isolation_level=None
        )
        conn.execute("PRAGMA busy_timeout = 10000")
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")  # durable enough under WAL, much faster
        conn.execute("PRAGMA foreign_keys = ON")
    except sqlite3.Error as exc:
        raise HuiqiError(f"无法打开政策库:{exc}", file=path) from exc
    return Database(conn, Dialect("sqlite"), path)


def _open_postgres(url: str) -> Database:
    try:
        import psycopg
    except ImportError as exc:
        raise HuiqiError("使用 PostgreSQL 需要安装 psycopg", hint="pip install 'huiqi[postgres]'") from exc
    try:
        # autocommit: transactions are explicit (Database.transaction), never implicit.
        conn = psycopg.connect(url, autocommit=True)
    except psycopg.Error as exc:
        raise HuiqiError(f"无法连接 PostgreSQL:{exc}".strip(), file=_redact(url)) from exc
    return Database(conn, Dialect("postgresql"), _redact(url))


def _redact(url: str) -> str:
    return re.sub(r"://([^:/@]+):[^@]*@", r"://\1:***@", url)


def connect(url_or_path: str) -> PolicyBase:
    """Open the policy base: a path or ``sqlite:///path`` (SQLite), or ``postgresql://…``."""
    from huiqi.policybase.store import PolicyBase

    return PolicyBase(open_database(url_or_path))
