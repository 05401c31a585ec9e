-- append_expected.sql — ours, optimistic concurrency on hot streams: read a
-- random hot stream's version, then append expecting that version, in two
-- statements (two round trips), as an application that decides in between.
-- A writer that lost the race gets ES001, which bench.append_expected
-- catches and counts as a conflict (pgbench 15 aborts a client on any error).
\set s random(1, :streams)
SELECT eventstore.stream_version(:tag::text || '-' || :s) AS seen \gset
SELECT bench.append_expected(:tag::text || '-' || :s, :payload::jsonb, :seen);
