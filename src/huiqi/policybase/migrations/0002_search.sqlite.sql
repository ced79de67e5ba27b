-- Full-text search over measures, SQLite flavour (PostgreSQL: 0002_search.postgresql.sql).
-- measures.segmented already holds jieba tokens separated by spaces, so the plain
-- unicode61 tokenizer splits exactly at jieba's word boundaries. The index keeps its
-- own copy of the text (no external content): the measures table has no stable integer
-- rowid to point at, and the copy stays small. document_id/ord locate the measure.
CREATE VIRTUAL TABLE measures_fts USING fts5(
    segmented,
    document_id UNINDEXED,
    ord UNINDEXED,
    tokenize = 'unicode61'
);
