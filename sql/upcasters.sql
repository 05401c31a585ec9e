-- Upcasters: every read sees events at their newest schema version; the
-- stored rows and their hashes never change (docs/aggregates.md).
CREATE ROLE upcaster_admin IN ROLE eventstore_admin;
CREATE SCHEMA upcasting AUTHORIZATION upcaster_admin;
SET ROLE upcaster_admin;
-- v1 {"name": "Ada Lovelace"} -> v2 {"first": ..., "last": ...} -> v3 adds who upcast it.
CREATE FUNCTION upcasting.split_name(data jsonb) RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$
    SELECT (data - 'name') || jsonb_build_object('first', split_part(data->>'name', ' ', 1),
                                                  'last', split_part(data->>'name', ' ', 2))
$$;
CREATE FUNCTION upcasting.stamp(data jsonb) RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT data || jsonb_build_object('upcast_by', current_user)
$$;
SELECT eventstore.register_upcaster('PersonRegistered', 1, 'upcasting.split_name(jsonb)');
SELECT eventstore.register_upcaster('PersonRegistered', 2, 'upcasting.stamp(jsonb)');
RESET ROLE;
SELECT event_type, from_schema_version, upcaster, owner_role FROM eventstore.upcasters ORDER BY 1, 2;

SELECT eventstore.append('person-1', 'PersonRegistered', '{"name": "Ada Lovelace"}');
SELECT eventstore.append_batch('person-1', ARRAY[
    ROW(NULL, 'PersonRegistered', '{"first": "Grace", "last": "Hopper"}', NULL, NULL, 2),
    ROW(NULL, 'PersonMoved', '{"city": "London"}', NULL, NULL, 1)]::eventstore.new_event[]);
SELECT eventstore.wait_for_position((SELECT count(*) FROM eventstore.events), '30 seconds') AS sequenced;
SELECT max(global_position) AS last FROM eventstore.log_positions \gset

-- Every read path: read_stream, read_all, read_category.
SELECT stream_version, event_type, schema_version, data FROM eventstore.read_stream('person-1');
SELECT stream_version, schema_version, data FROM eventstore.read_all(:last - 3) ORDER BY global_position;
SELECT stream_version, schema_version, data FROM eventstore.read_category('person');
-- Stored rows are untouched, and so their hashes verify.
SELECT stream_version, schema_version, data FROM eventstore.events WHERE stream_id = 'person-1' ORDER BY 1;
SELECT ok, detail FROM eventstore.verify_stream('person-1');
-- Kafka gets the stored form (its es_hash covers the stored bytes).
SELECT payload, headers->>'es_schema_version' AS es_schema_version
FROM eventstore.event_messages WHERE global_position > :last - 3 ORDER BY global_position;

-- A fold sees upcast events.
CREATE FUNCTION upcasting.names(state jsonb, e eventstore.event_record) RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN e.event_type = 'PersonRegistered'
                THEN state || jsonb_build_object(e.data->>'first', e.schema_version) ELSE state END
$$;
SELECT eventstore.create_aggregate('person', 'upcasting.names(jsonb, eventstore.event_record)');
SELECT * FROM eventstore.load_state('person-1');
-- A projection handler sees upcast events.
CREATE SCHEMA people;
CREATE TABLE people.seen (version bigint, schema_version int, data jsonb);
SELECT eventstore.create_projection('people', sql => 'INSERT INTO seen SELECT stream_version, schema_version, data FROM batch',
                                    categories => ARRAY['person']);
SELECT eventstore.wait_for_projection('people', :last, '30 seconds') AS projected;
SELECT * FROM people.seen ORDER BY version;

-- Registering an upcaster changes what a fold sees: the fold identity changes too.
SELECT eventstore.fold_identity(fold, initial_state) AS identity_before FROM eventstore.aggregates \gset
SELECT eventstore.drop_upcaster('PersonRegistered', 2);
SELECT eventstore.fold_identity(fold, initial_state) <> :'identity_before' AS identity_changed FROM eventstore.aggregates;
SELECT stream_version, schema_version, data FROM eventstore.read_stream('person-1', 1, 1);

-- Bad input changes nothing.
SELECT test_error($$SELECT eventstore.register_upcaster('PersonRegistered', 1, 'upcasting.stamp(jsonb)')$$);
SELECT test_error($$SELECT eventstore.register_upcaster('PersonRegistered', 0, 'upcasting.stamp(jsonb)')$$);
SELECT test_error($$SELECT eventstore.register_upcaster('', 1, 'upcasting.stamp(jsonb)')$$);
SELECT test_error($$SELECT eventstore.register_upcaster('X', 1, 'upcasting.names(jsonb, eventstore.event_record)')$$);
SELECT test_error($$SELECT eventstore.register_upcaster('X', 1, 'upcasting.nope(jsonb)')$$);
SELECT test_error($$SELECT eventstore.drop_upcaster('X', 1)$$);
CREATE ROLE upcaster_writer IN ROLE eventstore_writer;
SET ROLE upcaster_writer;
SELECT test_error($$SELECT eventstore.register_upcaster('X', 1, 'pg_catalog.jsonb_strip_nulls(jsonb)')$$);
RESET ROLE;
SELECT count(*) AS upcasters FROM eventstore.upcasters;

SELECT eventstore.drop_projection('people');
SELECT eventstore.drop_aggregate('person');
SELECT eventstore.drop_upcaster('PersonRegistered', 1);
DROP SCHEMA people, upcasting CASCADE;
DROP OWNED BY upcaster_admin, upcaster_writer;
DROP ROLE upcaster_admin, upcaster_writer;
