-- Nobody without grants can stop a job (docs/security.md).
--
-- Sequencer rounds once serialized on a public advisory-lock key; any role
-- could take it and stop the global order for everyone.  Here a role with
-- no grant at all holds that key, and the sequencer goes on.
CREATE ROLE security_stranger;
SET ROLE security_stranger;
SELECT pg_advisory_lock(7045200755086449) AS stranger_holds_the_old_key;
RESET ROLE;
SELECT eventstore.append('security-1', 'Opened', '{}') AS version;
SELECT eventstore.wait_for_position((SELECT count(*) FROM eventstore.events), '30 seconds') AS sequenced_while_held;
SET ROLE security_stranger;
SELECT pg_advisory_unlock(7045200755086449);

-- The lock rounds take now cannot be taken without grants: not by a
-- stranger, and not by a reader, who can see the schema.
BEGIN;
SELECT test_error('LOCK TABLE eventstore.sequencer_lock IN ACCESS SHARE MODE');
ROLLBACK;
BEGIN;
SELECT test_error('LOCK TABLE eventstore.sequencer_lock IN EXCLUSIVE MODE');
ROLLBACK;
RESET ROLE;
CREATE ROLE security_reader IN ROLE eventstore_admin;
SET ROLE security_reader;
BEGIN;
SELECT test_error('LOCK TABLE eventstore.sequencer_lock IN ACCESS SHARE MODE');
ROLLBACK;
BEGIN;
SELECT test_error('LOCK TABLE eventstore.sequencer_lock IN EXCLUSIVE MODE');
ROLLBACK;
RESET ROLE;
DROP ROLE security_reader;
-- Nobody but its owner holds a privilege on it, not even the store's administrators.
SELECT count(*) AS grants_to_others
FROM pg_class c, aclexplode(c.relacl) a
WHERE c.oid = 'eventstore.sequencer_lock'::regclass AND a.grantee <> c.relowner;

DROP ROLE security_stranger;
