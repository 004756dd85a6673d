-- usage_events_api_key_idx and usage_events_conversation_idx serve the foreign keys only:
-- deleting an API key or a conversation finds its usage rows through them (ON DELETE SET
-- NULL). A row without a key (the web UI's) or without a conversation (the /v1 endpoint's)
-- needs no entry, so partial indexes leave those out: one index write less for every model
-- request. Both databases use an index WHERE x IS NOT NULL for "x = ?", the lookup the
-- foreign key makes.
DROP INDEX usage_events_api_key_idx;
CREATE INDEX usage_events_api_key_idx ON usage_events (api_key_id) WHERE api_key_id IS NOT NULL;
DROP INDEX usage_events_conversation_idx;
CREATE INDEX usage_events_conversation_idx ON usage_events (conversation_id) WHERE conversation_id IS NOT NULL;
