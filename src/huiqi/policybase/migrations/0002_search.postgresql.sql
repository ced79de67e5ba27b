-- Full-text search over measures, PostgreSQL flavour (SQLite: 0002_search.sqlite.sql).
-- The 'simple' configuration neither stems nor drops stop words, so each jieba token in
-- measures.segmented becomes one lexeme, matching what FTS5 unicode61 does on SQLite.
-- A generated column keeps the vector in step with segmented without triggers.
ALTER TABLE measures
    ADD COLUMN search_vector tsvector
    GENERATED ALWAYS AS (to_tsvector('simple', segmented)) STORED;
CREATE INDEX measures_search_idx ON measures USING GIN (search_vector);
