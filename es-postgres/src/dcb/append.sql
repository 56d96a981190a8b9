-- The appends of one or more callers in one statement and one commit (group commit). Every
-- append, with a condition or without (Python's unconditional appends take no lock: D1, D2),
-- first takes two locks held to its commit:
--
-- * ROW EXCLUSIVE on the main table: what an INSERT takes anyway, taken before the check. It
--   waits for a Python conditional append in flight (which holds EXCLUSIVE) and keeps the
--   next one waiting, so mixed writers with conditions exclude each other.
-- * A transaction advisory lock keyed by the main table's oid: our appenders one at a time,
--   so positions follow commit order and one append's block is never interleaved. Not the
--   EXCLUSIVE table lock Python takes: that one also waits for autovacuum's VACUUM and ANALYZE
--   of the table (SHARE UPDATE EXCLUSIVE) until the server cancels them, a stall of
--   deadlock_timeout (1 s) each time autovacuum starts on a growing table.
--
-- The function is named per application (Python's are per schema, and a second application's
-- DDL re-points the first's: D3).
--
-- Caller c's events end at ends[c] in types/datas; each event's tags are tags, flattened, with
-- tag_counts per event. Its condition (when checked[c]) has the items up to q_ends[c], each
-- item's types and tags flattened the same way; no items means every event. Each caller's
-- condition sees the events of the callers before it. Returns each caller's last position, or
-- NULL when its condition failed (it wrote nothing).
CREATE OR REPLACE FUNCTION {append}(types text[], datas bytea[], tags text[], tag_counts int[],
  ends int[], checked boolean[], afters bigint[], q_types text[], q_type_counts int[],
  q_tags text[], q_tag_counts int[], q_ends int[])
RETURNS TABLE (r_caller int, r_last bigint)
LANGUAGE plpgsql AS $fn$
DECLARE
  conflict boolean;
  e int := 1;
  g int := 1;
  qi int := 1;
  ti int := 1;
  gi int := 1;
  it text[];
  ig text[];
  et text[];
  last bigint;
BEGIN
  LOCK TABLE {main} IN ROW EXCLUSIVE MODE;
  PERFORM pg_advisory_xact_lock({lock_key});
  FOR c IN 1 .. cardinality(ends) LOOP
    conflict := false;
    IF checked[c] AND q_ends[c] < qi THEN
      conflict := EXISTS (SELECT 1 FROM {main} WHERE id > afters[c]);
    END IF;
    WHILE qi <= q_ends[c] LOOP
      IF NOT conflict THEN
        it := q_types[ti : ti + q_type_counts[qi] - 1];
        ig := q_tags[gi : gi + q_tag_counts[qi] - 1];
        IF cardinality(ig) > 0 THEN
          conflict := EXISTS (SELECT 1 FROM {tag} t JOIN {main} m ON m.id = t.main_id
            WHERE t.tag = ig[1] AND t.main_id > afters[c] AND m.tags @> ig
              AND (cardinality(it) = 0 OR m.type = ANY (it)));
        ELSIF cardinality(it) > 0 THEN
          conflict := EXISTS (SELECT 1 FROM {main} WHERE type = ANY (it) AND id > afters[c]);
        ELSE
          conflict := EXISTS (SELECT 1 FROM {main} WHERE id > afters[c]);
        END IF;
      END IF;
      ti := ti + q_type_counts[qi];
      gi := gi + q_tag_counts[qi];
      qi := qi + 1;
    END LOOP;
    last := NULL;
    WHILE e <= ends[c] LOOP
      et := tags[g : g + tag_counts[e] - 1];
      g := g + tag_counts[e];
      IF NOT conflict THEN
        INSERT INTO {main} (type, data, tags) VALUES (types[e], datas[e], et) RETURNING id INTO last;
        INSERT INTO {tag} (tag, main_id) SELECT unnest(et), last;
      END IF;
      e := e + 1;
    END LOOP;
    r_caller := c;
    r_last := last;
    RETURN NEXT;
  END LOOP;
  PERFORM pg_notify({channel}, '');
END $fn$;
