-- How far this application has processed each upstream application.
CREATE TABLE IF NOT EXISTS {tracking} (
  application_name text NOT NULL PRIMARY KEY,
  notification_id bigint NOT NULL);
