"""Storage: SQLAlchemy Core tables (one metadata) and Alembic migrations for SQLite and PostgreSQL.

Everything persistent lives here: the policy base, users, sessions, tokens, jobs, saved
profiles and the hash-chained audit log; features add their own tables to the same
metadata (``huiqi.workflow.tables``, ``huiqi.governance.tables``).
"""
