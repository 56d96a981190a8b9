-- Events with a notification log: ids from a sequence, in commit order under the insert lock.
CREATE TABLE IF NOT EXISTS {events} (
  originator_id uuid NOT NULL, originator_version bigint NOT NULL,
  topic text NOT NULL, state bytea NOT NULL, notification_id bigserial,
  PRIMARY KEY (originator_id, originator_version))
WITH (autovacuum_enabled = true, autovacuum_vacuum_threshold = 100000000,
  autovacuum_vacuum_scale_factor = 0.5, autovacuum_analyze_threshold = 1000,
  autovacuum_analyze_scale_factor = 0.01);
CREATE UNIQUE INDEX IF NOT EXISTS {index} ON {events} (notification_id ASC);
