-- Run first in the DDL transaction: one creator at a time, whatever the process.
SELECT pg_advisory_xact_lock(7531902468);
CREATE SCHEMA IF NOT EXISTS {schema};
