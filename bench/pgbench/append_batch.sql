-- append_batch.sql — ours: one eventstore.append_batch of :batch events per
-- transaction, each client to its own stream.  The array is built in the
-- server, as plain_batch.sql builds its rows.
SELECT eventstore.append_batch(:tag::text || '-' || :client_id,
    ARRAY(SELECT ROW(NULL, 'Deposited', :payload::jsonb, NULL, NULL, NULL)::eventstore.new_event
          FROM generate_series(1, :batch)));
