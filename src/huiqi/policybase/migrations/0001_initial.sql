-- Huiqi policy base, schema 0001.
--
-- Written in the subset SQLite (>= 3.35) and PostgreSQL (>= 12) both accept, so the
-- same file creates both databases: TEXT / INTEGER / BIGINT only, no autoincrement
-- ids (children are keyed by the document id and their position), CHECK constraints
-- instead of enums. Exact numbers (Decimal) are TEXT, money in integer yuan is BIGINT:
-- never REAL. Dates are ISO TEXT (YYYY-MM-DD), lists are JSON text.
-- "key", "start" and "end" are quoted everywhere because END is reserved in both.
-- The full Document JSON is the source of truth; the other columns are its
-- queryable projection and are rebuilt whenever the document is saved.

CREATE TABLE documents (
    id TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    doc_number TEXT,
    issuers TEXT NOT NULL DEFAULT '[]',
    province TEXT,
    city TEXT,
    county TEXT,
    signed_date TEXT,
    published_date TEXT,
    effective_from TEXT,
    effective_to TEXT,
    status TEXT NOT NULL CHECK (status IN ('final', 'draft')),
    status_label TEXT,
    script TEXT NOT NULL,
    source_path TEXT,
    source_sha256 TEXT,
    schema_version TEXT NOT NULL,
    json_sha256 TEXT NOT NULL,
    ingested_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    json TEXT NOT NULL
);
CREATE INDEX documents_doc_number_idx ON documents (doc_number);
CREATE INDEX documents_title_idx ON documents (title);
CREATE INDEX documents_region_idx ON documents (province, city, county);

CREATE TABLE measures (
    document_id TEXT NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
    ord INTEGER NOT NULL,
    "key" TEXT NOT NULL,
    label TEXT NOT NULL,
    path TEXT NOT NULL DEFAULT '[]',
    level INTEGER NOT NULL,
    style TEXT NOT NULL,
    title TEXT NOT NULL DEFAULT '',
    text TEXT NOT NULL,
    original_text TEXT NOT NULL DEFAULT '',
    "start" INTEGER NOT NULL,
    "end" INTEGER NOT NULL,
    units_text TEXT,
    -- jieba tokens of text joined by spaces: the full-text index reads this column
    segmented TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (document_id, ord)
);
CREATE INDEX measures_key_idx ON measures (document_id, "key");

CREATE TABLE units (
    document_id TEXT NOT NULL,
    measure_ord INTEGER NOT NULL,
    measure_key TEXT NOT NULL,
    unit TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('lead', 'support', 'member')),
    ord INTEGER NOT NULL,
    PRIMARY KEY (document_id, measure_ord, ord),
    FOREIGN KEY (document_id, measure_ord) REFERENCES measures (document_id, ord) ON DELETE CASCADE
);
CREATE INDEX units_unit_idx ON units (unit, role);
CREATE INDEX units_measure_idx ON units (document_id, measure_key);

CREATE TABLE provisions (
    document_id TEXT NOT NULL,
    measure_ord INTEGER NOT NULL,
    measure_key TEXT NOT NULL,
    ord INTEGER NOT NULL,
    kind TEXT NOT NULL,
    text TEXT NOT NULL,
    "start" INTEGER NOT NULL,
    "end" INTEGER NOT NULL,
    value TEXT,
    unit TEXT NOT NULL DEFAULT '',
    yuan BIGINT,
    comparator TEXT,
    upper_bound INTEGER NOT NULL DEFAULT 0 CHECK (upper_bound IN (0, 1)),
    low TEXT,
    high TEXT,
    low_inclusive INTEGER CHECK (low_inclusive IN (0, 1)),
    high_inclusive INTEGER CHECK (high_inclusive IN (0, 1)),
    low_yuan BIGINT,
    high_yuan BIGINT,
    per TEXT,
    subject TEXT,
    scope TEXT,
    note TEXT,
    PRIMARY KEY (document_id, measure_ord, ord),
    FOREIGN KEY (document_id, measure_ord) REFERENCES measures (document_id, ord) ON DELETE CASCADE
);
CREATE INDEX provisions_measure_idx ON provisions (document_id, measure_key);
CREATE INDEX provisions_kind_idx ON provisions (kind);
CREATE INDEX provisions_yuan_idx ON provisions (yuan);

CREATE TABLE targets (
    document_id TEXT NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
    ord INTEGER NOT NULL,
    measure_key TEXT,
    indicator TEXT NOT NULL,
    value TEXT NOT NULL,
    unit TEXT NOT NULL DEFAULT '',
    comparator TEXT,
    stretch_value TEXT,
    year INTEGER,
    text TEXT NOT NULL,
    "start" INTEGER NOT NULL,
    "end" INTEGER NOT NULL,
    PRIMARY KEY (document_id, ord)
);
CREATE INDEX targets_measure_idx ON targets (document_id, measure_key);
CREATE INDEX targets_indicator_idx ON targets (indicator);

-- kind: boilerplate_removed | repaired | unreadable | unparsed_numbers | warning.
-- Offsets index Document.text, except repaired (Document.original_text); a warning has none.
CREATE TABLE quality_flags (
    document_id TEXT NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
    ord INTEGER NOT NULL,
    kind TEXT NOT NULL,
    "start" INTEGER,
    "end" INTEGER,
    text TEXT NOT NULL,
    reason TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (document_id, ord)
);
CREATE INDEX quality_flags_kind_idx ON quality_flags (kind);
