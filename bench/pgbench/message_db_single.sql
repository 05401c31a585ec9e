-- message_db_single.sql — Message DB: one message_store.write_message (id,
-- stream name, type, data) per transaction, the counterpart of
-- append_single.sql.  write_message takes a transaction advisory lock on the
-- stream's category (its name up to the first '-'), so clients writing to
-- one category queue on it; here each client writes to a stream of its own
-- in a category of its own (<tag>c<client>-1), Message DB's best case.  The
-- message id is a UUID made in the server, as append makes the event id.
-- Connects with search_path=message_store (benchlib.MESSAGE_DB_OPTIONS).
SELECT message_store.write_message(gen_random_uuid()::varchar, :tag::text || 'c' || :client_id || '-1',
                                   'Deposited', :payload::jsonb);
