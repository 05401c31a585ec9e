-- diy_append.sql — the do-it-yourself store's append (bench/sql/
-- diy_event_store.sql), one event per transaction, each client to its own
-- stream: the counterpart of append_single.sql.
SELECT diy.append(:tag::text || '-' || :client_id, 'Deposited', :payload::jsonb);
