"""Governance fixtures: the seeds ingested once per session."""

from __future__ import annotations

import pytest

from huiqi.document import Document
from tests.conftest import seeds_dir


@pytest.fixture(scope="session")
def seed_documents() -> list[Document]:
    from huiqi.ingest.pipeline import ingest_file

    return [ingest_file(p) for p in sorted(seeds_dir().glob("*.txt"))]


@pytest.fixture(scope="session")
def seed_by_prefix(seed_documents: list[Document]) -> dict[str, Document]:
    """Seed documents by the first three characters of their file name ("003")."""
    from pathlib import Path

    return {Path(d.source.path).name[:3]: d for d in seed_documents}


# The platform's fixtures (fresh migrated database, app client, login, live server, browser).
from tests.web.conftest import (  # noqa: E402,F401
    app_settings,
    browser,
    browser_page,
    client,
    db_url,
    live_server,
    login,
    seeded_db_url,
)
