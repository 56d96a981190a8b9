-- Run first in the DDL transaction: one creator at a time, whatever the process.
SELECT pg_advisory_xact_lock(7531902468);
CREATE SCHEMA IF NOT EXISTS {schema};
-- The Python library's "tt" layout (eventsourcing.dcb.postgres_tt), with its table and index
-- names, so that each side reads the other's events. Unlike Python's, the foreign key names
-- its schema (Python's D4).
CREATE TABLE IF NOT EXISTS {main} (
  id bigserial, type text NOT NULL, data bytea, tags text[] NOT NULL)
WITH (autovacuum_vacuum_threshold = 100000000, autovacuum_vacuum_scale_factor = 0.5,
  autovacuum_analyze_threshold = 1000, autovacuum_analyze_scale_factor = 0.01);
CREATE UNIQUE INDEX IF NOT EXISTS {main_index} ON {main} (id) INCLUDE (type);
CREATE TABLE IF NOT EXISTS {tag} (tag text, main_id bigint REFERENCES {main} (id))
WITH (autovacuum_vacuum_threshold = 100000000, autovacuum_vacuum_scale_factor = 0.5,
  autovacuum_analyze_threshold = 1000, autovacuum_analyze_scale_factor = 0.01);
CREATE INDEX IF NOT EXISTS {tag_index} ON {tag} (tag, main_id);
-- Ours: items with types and no tags read by type (Python refuses most of them: D5).
CREATE INDEX IF NOT EXISTS {type_index} ON {main} (type, id);
