"""Input bounds: every input is refused beyond a known size, with a Chinese message naming the
limit and the environment variable that changes it. Values are read at the time of use, so a
test (or a user with a large file) can raise them per run.

==============================  ===========  =================================================
environment variable            default      bounds
==============================  ===========  =================================================
HUIQI_MAX_DOCUMENT_BYTES        20 MB        a policy document file (ingest)
HUIQI_MAX_UNPACKED_BYTES        200 MB       XML inside a .docx / streams of a .pdf, unpacked
HUIQI_MAX_DOCUMENT_CHARS        10 M         text extracted from one document
HUIQI_MAX_YAML_BYTES            10 MB        a YAML/JSON file (profile, rule pack, reform, tests)
HUIQI_MAX_YAML_DEPTH            64           nesting depth of YAML/JSON
HUIQI_MAX_YAML_NODES            200 000      nodes of a YAML document with aliases expanded
HUIQI_MAX_PROFILE_PROJECTS      1 000        projects in one enterprise profile
HUIQI_MAX_PER_ROW_ROWS          200 000      population rows for the per-row (reference) path
==============================  ===========  =================================================
"""

from __future__ import annotations

import os

from huiqi.errors import InputError

DOCUMENT_BYTES_ENV = "HUIQI_MAX_DOCUMENT_BYTES"
UNPACKED_BYTES_ENV = "HUIQI_MAX_UNPACKED_BYTES"
DOCUMENT_CHARS_ENV = "HUIQI_MAX_DOCUMENT_CHARS"
YAML_BYTES_ENV = "HUIQI_MAX_YAML_BYTES"
YAML_DEPTH_ENV = "HUIQI_MAX_YAML_DEPTH"
YAML_NODES_ENV = "HUIQI_MAX_YAML_NODES"
PROFILE_PROJECTS_ENV = "HUIQI_MAX_PROFILE_PROJECTS"
PER_ROW_ROWS_ENV = "HUIQI_MAX_PER_ROW_ROWS"

DEFAULTS = {
    DOCUMENT_BYTES_ENV: 20_000_000,
    UNPACKED_BYTES_ENV: 200_000_000,
    DOCUMENT_CHARS_ENV: 10_000_000,
    YAML_BYTES_ENV: 10_000_000,
    YAML_DEPTH_ENV: 64,
    YAML_NODES_ENV: 200_000,
    PROFILE_PROJECTS_ENV: 1_000,
    PER_ROW_ROWS_ENV: 200_000,
}


def limit(name: str) -> int:
    """The limit ``name`` (an environment variable of the table above), validated."""
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return DEFAULTS[name]
    text = raw.strip().replace("_", "").replace(",", "")
    if not text.isdigit() or int(text) <= 0:
        raise InputError(f"环境变量 {name} 的值 “{raw}” 无效:应为正整数", hint=f"默认值 {DEFAULTS[name]}")
    return int(text)


def document_bytes() -> int:
    return limit(DOCUMENT_BYTES_ENV)


def unpacked_bytes() -> int:
    return limit(UNPACKED_BYTES_ENV)


def document_chars() -> int:
    return limit(DOCUMENT_CHARS_ENV)


def yaml_bytes() -> int:
    return limit(YAML_BYTES_ENV)


def yaml_depth() -> int:
    # Python's own recursion limit is about 1000 frames and composing one level takes a few.
    return min(limit(YAML_DEPTH_ENV), 200)


def yaml_nodes() -> int:
    return limit(YAML_NODES_ENV)


def profile_projects() -> int:
    return limit(PROFILE_PROJECTS_ENV)


def per_row_rows() -> int:
    return limit(PER_ROW_ROWS_ENV)
