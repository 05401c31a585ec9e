-- read_message_db.sql — Message DB's reads of the same events:
-- get_stream_messages from position 0 (its first) and get_category_messages
-- from global position 1, 1,000 messages each.  Connects with
-- search_path=message_store (benchlib.MESSAGE_DB_OPTIONS).
\set c random(1, :categories)
\set n random(1, :streams)
\if :category
SELECT * FROM message_store.get_category_messages('account' || :c, 1, 1000);
\else
SELECT * FROM message_store.get_stream_messages('account' || :c || '-' || :n, 0, 1000);
\endif
