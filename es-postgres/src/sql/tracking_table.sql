-- How far this application has processed each upstream application.
CREATE TABLE IF NOT EXISTS {tracking} (
  application_name text NOT NULL PRIMARY KEY,
  notification_id bigint NOT NULL);
-- Leases of runner instances that process this application's edges (RUNNER_LEASES).
CREATE TABLE IF NOT EXISTS {leases} (
  lease_name text NOT NULL PRIMARY KEY,
  holder text NOT NULL,
  expires_at timestamptz NOT NULL);
