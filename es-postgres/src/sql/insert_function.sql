-- One caller's insert in one statement: the lock that makes id order equal commit order (first,
-- as in the group insert: one lock order on every path, so no deadlock), the NOTIFY, the
-- tracking upsert (only when the stored position is below the record's first notification,
-- else {tracking_conflict}), then the events.
CREATE OR REPLACE FUNCTION {function}(ids uuid[], versions bigint[], topics text[],
  states bytea[], t_app text, t_id bigint, t_first bigint) RETURNS SETOF bigint
LANGUAGE plpgsql AS $fn$
BEGIN
  IF cardinality(ids) > 0 THEN
    {lock}
  END IF;
  IF t_app IS NOT NULL THEN
    INSERT INTO {tracking} AS t (application_name, notification_id) VALUES (t_app, t_id)
      ON CONFLICT (application_name) DO UPDATE SET notification_id = excluded.notification_id
      WHERE t.notification_id < t_first;
    IF NOT FOUND THEN
      RAISE EXCEPTION 'tracking conflict' USING ERRCODE = '{tracking_conflict}';
    END IF;
  END IF;
  IF cardinality(ids) > 0 THEN
    RETURN QUERY INSERT INTO {events} (originator_id, originator_version, topic, state)
      SELECT * FROM unnest(ids, versions, topics, states) {returning};
  END IF;
END $fn$;
