-- read_ours.sql — ours: the 1,000 events of a random stream
-- (account<c>-<n>, :categories categories of :streams streams each), or with
-- :category = 1 the first 1,000 events of a random category.
\set c random(1, :categories)
\set n random(1, :streams)
\if :category
SELECT * FROM eventstore.read_category('account' || :c, 0, 1000);
\else
SELECT * FROM eventstore.read_stream('account' || :c || '-' || :n, 1, 1000);
\endif
