"""The policy base's connection: SQL text over a SQLAlchemy connection, and the dialect layer.

Engines come from :func:`huiqi.store.db.engine_for` and the schema from the Alembic migrations
(:func:`huiqi.store.migrate.upgrade`, revision ``0001_platform``), shared with the web platform.
The policy base's statements are written once with ``?`` placeholders in the subset SQLite and
PostgreSQL share; :class:`Dialect` only translates what genuinely differs: the placeholder
(``?`` vs ``%s``) and the full-text search SQL (FTS5 vs tsvector).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import sqlalchemy as sa

from huiqi.errors import HuiqiError
from huiqi.store.db import WRITE_OPTION, engine_for, normalize_url, redact, utc_now

if TYPE_CHECKING:
    from huiqi.policybase.store import PolicyBase

__all__ = ["Database", "Dialect", "connect", "open_database", "utc_now"]

Backend = Literal["sqlite", "postgresql"]
Row = dict[str, Any]


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


class Database:
    """One SQLAlchemy connection plus its dialect; rows come back as dicts.

    Outside :meth:`transaction` every statement commits on its own; inside, all statements
    share one transaction (SQLite ``BEGIN IMMEDIATE``, so writers queue on the busy timeout).
    """

    def __init__(self, engine: sa.Engine, url: str) -> None:
        self.engine = engine
        self.conn = engine.connect()
        self.dialect = Dialect("sqlite" if engine.dialect.name == "sqlite" else "postgresql")
        self.url = url
        self._depth = 0

    def _driver_sql(self, sql: str, params: Sequence[Any]) -> str:
        # Without parameters the driver never interprets placeholders or %%: run the text as is.
        return self.dialect.sql(sql) if params else sql

    def _autocommit(self, run: Any) -> Any:
        if self._depth:
            return run()
        try:
            out = run()
        except BaseException:
            self.conn.rollback()
            raise
        self.conn.commit()
        return out

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        self._autocommit(lambda: self.conn.exec_driver_sql(self._driver_sql(sql, params), tuple(params)))

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        batch = [tuple(r) for r in rows]
        if not batch:
            return
        self._autocommit(lambda: self.conn.exec_driver_sql(self.dialect.sql(sql), batch))

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        def run() -> list[Row]:
            result = self.conn.exec_driver_sql(self._driver_sql(sql, params), tuple(params))
            return [dict(r._mapping) for r in result]

        return self._autocommit(run)  # type: ignore[no-any-return]

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
        self.conn.execution_options(**{WRITE_OPTION: True})
        try:
            with self.conn.begin():
                yield
        finally:
            self._depth = 0
            self.conn.execution_options(**{WRITE_OPTION: False})

    def migrate(self) -> list[str]:
        """Apply pending Alembic migrations; returns the revisions that are new now."""
        from huiqi.store.migrate import current_revisions, upgrade

        before = current_revisions(self.engine)
        upgrade(self.engine)
        return sorted(current_revisions(self.engine) - before)

    def schema_version(self) -> str | None:
        from huiqi.store.migrate import current_revisions

        heads = sorted(current_revisions(self.engine))
        return heads[-1] if heads else None

    def close(self) -> None:
        self.conn.close()
        self.engine.dispose()


def open_database(url_or_path: str) -> Database:
    """Open (creating if needed) and migrate the database at ``url_or_path``."""
    from huiqi.store.migrate import upgrade

    if not url_or_path or not url_or_path.strip():
        raise HuiqiError("未指定政策库路径", hint="给出文件路径、sqlite:///路径 或 postgresql://…")
    url = normalize_url(url_or_path)
    engine = engine_for(url)
    try:
        upgrade(engine)
        return Database(engine, redact(url_or_path))
    except sa.exc.OperationalError as exc:
        engine.dispose()
        raise HuiqiError(f"无法打开政策库:{exc.orig}", file=redact(url_or_path)) from exc
    except BaseException:
        engine.dispose()
        raise


def connect(url_or_path: str) -> PolicyBase:
    """Open the policy base: a path or ``sqlite:///path`` (SQLite), or ``postgresql://…``."""
    from huiqi.policybase.store import PolicyBase

    return PolicyBase(open_database(url_or_path))
