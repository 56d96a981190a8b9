-- Several callers' inserts in one statement (group commit): the lock once, then each caller's
-- tracking and events in its own subtransaction, so one caller's conflict fails only that
-- caller. `ends[c]` is the last position of caller c's events in the arrays.
CREATE OR REPLACE FUNCTION {function}(ids uuid[], versions bigint[], topics text[],
  states bytea[], ends int[], t_apps text[], t_ids bigint[], t_firsts bigint[])
RETURNS TABLE(r_caller int, r_id bigint, r_failure text)
LANGUAGE plpgsql AS $fn$
DECLARE c int; s int := 1;
BEGIN
  IF cardinality(ids) > 0 THEN
    {lock}
  END IF;
  FOR c IN 1 .. coalesce(cardinality(ends), 0) LOOP
    BEGIN
      IF t_apps[c] IS NOT NULL THEN
        INSERT INTO {tracking} AS t (application_name, notification_id) VALUES (t_apps[c], t_ids[c])
          ON CONFLICT (application_name) DO UPDATE SET notification_id = excluded.notification_id
          WHERE t.notification_id < t_firsts[c];
        IF NOT FOUND THEN
          RAISE EXCEPTION 'tracking conflict' USING ERRCODE = '{tracking_conflict}';
        END IF;
      END IF;
      IF ends[c] >= s THEN
        RETURN QUERY WITH ins AS (
          INSERT INTO {events} (originator_id, originator_version, topic, state)
          SELECT * FROM unnest(ids[s:ends[c]], versions[s:ends[c]], topics[s:ends[c]], states[s:ends[c]])
          RETURNING notification_id)
        SELECT c, ins.notification_id, NULL::text FROM ins;
      END IF;
    EXCEPTION
      WHEN unique_violation THEN RETURN QUERY SELECT c, NULL::bigint, '23505'::text;
      WHEN SQLSTATE '{tracking_conflict}' THEN RETURN QUERY SELECT c, NULL::bigint, '{tracking_conflict}'::text;
    END;
    s := ends[c] + 1;
  END LOOP;
END $fn$;
