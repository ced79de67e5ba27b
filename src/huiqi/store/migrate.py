"""Apply the Alembic migrations (all branches: platform, workflow, governance).

``huiqi db upgrade`` and every test database go through :func:`upgrade`; the web app and the
CLI call it when they open a database, so a fresh file is usable at once.
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from huiqi.errors import HuiqiError
from huiqi.store.db import engine_for, redact

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
# Any constant works; it only has to be the same for every process migrating one database.
PG_MIGRATION_LOCK = 0x48554951  # "HUIQ"


def alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("path_separator", "os")
    cfg.set_main_option("version_locations", str(MIGRATIONS / "versions"))
    return cfg


def known_heads() -> set[str]:
    return set(ScriptDirectory.from_config(alembic_config()).get_heads())


def current_revisions(engine: sa.Engine) -> set[str]:
    with engine.connect() as conn:
        return set(MigrationContext.configure(conn).get_current_heads())


def upgrade(engine_or_url: sa.Engine | str | None = None) -> sa.Engine:
    """Bring the database to the newest revision of every branch; returns the engine used."""
    engine = engine_or_url if isinstance(engine_or_url, sa.Engine) else engine_for(engine_or_url)
    script = ScriptDirectory.from_config(alembic_config())
    try:
        with engine.connect() as conn:
            conn.execution_options(huiqi_write=True)
            with conn.begin():
                if conn.dialect.name == "postgresql":
                    conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": PG_MIGRATION_LOCK})
                _refuse_unknown(conn, script, engine)
                _refuse_legacy(conn, engine)
                cfg = alembic_config()
                cfg.attributes["connection"] = conn
                command.upgrade(cfg, "heads")
    except sa.exc.OperationalError as exc:
        raise HuiqiError(f"无法打开数据库:{exc.orig}", file=redact(str(engine.url))) from exc
    return engine


def _refuse_unknown(conn: sa.Connection, script: ScriptDirectory, engine: sa.Engine) -> None:
    current = MigrationContext.configure(conn).get_current_heads()
    known = {rev.revision for rev in script.walk_revisions()}
    newer = sorted(set(current) - known)
    if newer:
        raise HuiqiError(
            f"数据库的结构版本({newer[-1]})比当前程序新,无法打开",
            file=redact(str(engine.url)),
            hint="请升级 huiqi 后再打开该数据库",
        )


def _refuse_legacy(conn: sa.Connection, engine: sa.Engine) -> None:
    """A policy base made by the old hand-written runner has no Alembic version table."""
    tables = set(sa.inspect(conn).get_table_names())
    if "schema_migrations" in tables and "alembic_version" not in tables:
        raise HuiqiError(
            "这是旧版格式的政策库(schema_migrations),不能就地升级",
            file=redact(str(engine.url)),
            hint="请换一个新文件重新导入:huiqi ingest 文件… --db 新文件",
        )
