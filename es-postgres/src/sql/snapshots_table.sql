-- Snapshots: no notification log, no lock.
CREATE TABLE IF NOT EXISTS {events} (
  originator_id uuid NOT NULL, originator_version bigint NOT NULL,
  topic text NOT NULL, state bytea NOT NULL,
  PRIMARY KEY (originator_id, originator_version))
WITH (autovacuum_enabled = true, autovacuum_vacuum_threshold = 100000000,
  autovacuum_vacuum_scale_factor = 0.5, autovacuum_analyze_threshold = 1000,
  autovacuum_analyze_scale_factor = 0.01);
