-- One append in one statement. Every append takes the table's EXCLUSIVE lock first, with a
-- condition or without (Python's unconditional appends take none: D1, D2), so positions follow
-- commit order and one append's block is never interleaved. Python's conditional appends take
-- the same lock, so mixed writers with conditions exclude each other. The function is named
-- per application (Python's are per schema and re-pointed by a second application: D3).
--
-- Events: types, datas, and their tags flattened (tags) with a count per event (tag_counts).
-- The condition (when checked): its items' types and tags flattened the same way; no items
-- means every event. Raises {condition_failed} when an event after `after` matches.
CREATE OR REPLACE FUNCTION {append}(types text[], datas bytea[], tags text[], tag_counts int[],
  checked boolean, q_types text[], q_type_counts int[], q_tags text[], q_tag_counts int[],
  after bigint) RETURNS bigint
LANGUAGE plpgsql AS $fn$
DECLARE
  conflict boolean := false;
  ti int := 1;
  gi int := 1;
  it text[];
  ig text[];
  last bigint;
BEGIN
  LOCK TABLE {main} IN EXCLUSIVE MODE;
  IF checked THEN
    IF cardinality(q_type_counts) = 0 THEN
      conflict := EXISTS (SELECT 1 FROM {main} WHERE id > after);
    END IF;
    FOR i IN 1 .. cardinality(q_type_counts) LOOP
      it := q_types[ti : ti + q_type_counts[i] - 1];
      ig := q_tags[gi : gi + q_tag_counts[i] - 1];
      ti := ti + q_type_counts[i];
      gi := gi + q_tag_counts[i];
      IF cardinality(ig) > 0 THEN
        conflict := EXISTS (SELECT 1 FROM {tag} t JOIN {main} m ON m.id = t.main_id
          WHERE t.tag = ig[1] AND t.main_id > after AND m.tags @> ig
            AND (cardinality(it) = 0 OR m.type = ANY (it)));
      ELSIF cardinality(it) > 0 THEN
        conflict := EXISTS (SELECT 1 FROM {main} WHERE type = ANY (it) AND id > after);
      ELSE
        conflict := EXISTS (SELECT 1 FROM {main} WHERE id > after);
      END IF;
      EXIT WHEN conflict;
    END LOOP;
    IF conflict THEN
      RAISE EXCEPTION 'append condition failed' USING ERRCODE = '{condition_failed}';
    END IF;
  END IF;
  gi := 1;
  FOR i IN 1 .. cardinality(types) LOOP
    ig := tags[gi : gi + tag_counts[i] - 1];
    gi := gi + tag_counts[i];
    INSERT INTO {main} (type, data, tags) VALUES (types[i], datas[i], ig) RETURNING id INTO last;
    INSERT INTO {tag} (tag, main_id) SELECT unnest(ig), last;
  END LOOP;
  PERFORM pg_notify({channel}, '');
  RETURN last;
END $fn$;
