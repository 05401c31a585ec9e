-- append_single.sql — ours: one eventstore.append per transaction, each
-- client to its own stream (no contention between clients).
SELECT eventstore.append(:tag::text || '-' || :client_id, 'Deposited', :payload::jsonb);
