-- Up Migration

-- The LLM match cache keys on what decided an answer, not only on the payload's shape: the model
-- names the fields its choice depended on (decided_by), and an answer is reused only for a payload
-- of the same shape whose values at those paths are the same (values_key). The old entries keyed on
-- shape alone could answer "an invoice over 1,000" for every invoice; they are dropped (it is a cache).
DELETE FROM llm_match_cache;
ALTER TABLE llm_match_cache DROP CONSTRAINT llm_match_cache_pkey;
ALTER TABLE llm_match_cache ADD COLUMN decided_by jsonb NOT NULL DEFAULT '[]', ADD COLUMN values_key text NOT NULL DEFAULT '';
ALTER TABLE llm_match_cache ADD PRIMARY KEY (source_id, definitions_version, shape_key, values_key);
