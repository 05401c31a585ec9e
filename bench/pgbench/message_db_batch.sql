-- message_db_batch.sql — Message DB has no batch write: :batch calls of
-- message_store.write_message in one statement, so one transaction and one
-- round trip (its best case; an application calling it :batch times in a
-- transaction pays a round trip each).  Each client to a stream of its own
-- in a category of its own, as in message_db_single.sql.  Each call sees the
-- messages the previous ones wrote (write_message is VOLATILE), so positions
-- continue 0, 1, 2 ... as with separate calls.
SELECT count(message_store.write_message(gen_random_uuid()::varchar, :tag::text || 'c' || :client_id || '-1',
                                         'Deposited', :payload::jsonb))
FROM generate_series(1, :batch);
