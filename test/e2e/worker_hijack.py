"""worker_hijack.py — no job of the worker can be made to run a user's code.

The worker connects as a superuser.  If any statement it runs resolved a
function or operator through a schema a user can write to, that user's
code would run with superuser rights.  This suite plants traps the way an
attacker would and then drives every job the worker runs; a trap that
fires makes its victim a superuser and records a row.

The attacker is an ordinary writer (eventstore_writer) who may create
objects in `public`, as every role may on a cluster upgraded from
PostgreSQL 14 or older.  Traps are functions named like the built-ins the
worker's statements call, with argument types that match a call more
exactly than the built-in does (so that, under a search_path containing
public, overload resolution would prefer them, as it did for
jsonb_build_object(text, text) in the outbox read).

JOBS lists what drives each job; a new job (projector, snapshotter, period
clock...) joins the suite by adding its driver there.

    python3 worker_hijack.py   (env: PGHOST, PGPORT, PGDATABASE, BOOTSTRAP)
"""
import os
import subprocess
import sys
import time

from cluster_control import DSN, query

BOOTSTRAP = os.environ["BOOTSTRAP"]
ATTACKER = "hijack_attacker"
ATTACKER_DSN = DSN.replace("user=postgres", "user=%s" % ATTACKER)

# (name, argument types, return type): built-ins the worker's statements and
# the views they read call, shadowed with more specific signatures.
TRAPS = [
    ("jsonb_build_object", "text, text", "jsonb"),
    ("jsonb_build_object", "text, bigint", "jsonb"),
    ("jsonb_object", "text[], text[]", "jsonb"),
    ("jsonb_each_text", "jsonb", "SETOF record"),
    ("pg_current_snapshot", "", "pg_snapshot"),
    ("pg_visible_in_snapshot", "xid8, pg_snapshot", "boolean"),
    ("pg_snapshot_xmin", "pg_snapshot", "xid8"),
    ("pg_snapshot_xmax", "pg_snapshot", "xid8"),
    ("current_setting", "text, boolean", "text"),
    ("current_database", "", "name"),
    ("encode", "bytea, text", "text"),
    ("to_char", "timestamp, text", "text"),
    ("nextval", "text", "bigint"),
    ("now", "", "timestamptz"),
    ("unnest", "bigint[], text[], bigint[], text[], bytea[]", "SETOF record"),
    ("pg_advisory_xact_lock", "bigint", "void"),
    ("age", "xid", "integer"),
    ("pg_backend_pid", "", "integer"),
    ("md5", "text", "text"),
    ("pg_get_functiondef", "oid", "text"),
    ("split_part", "text, text, integer", "text"),
    ("date_trunc", "text, timestamptz, text", "timestamptz"),
    ("timezone", "text, timestamptz", "timestamp"),
    ("jsonb_typeof", "jsonb", "text"),
    ("gen_random_uuid", "", "uuid"),
]


def plant_traps():
    query(DSN, "CREATE ROLE %s LOGIN IN ROLE eventstore_writer" % ATTACKER)
    # As on a cluster upgraded from PostgreSQL 14: everybody may create in public.
    query(DSN, "GRANT CREATE, USAGE ON SCHEMA public TO PUBLIC")
    query(DSN, "CREATE TABLE public.trap_hits (trap text, run_by text, at timestamptz DEFAULT now())")
    query(DSN, "GRANT INSERT, SELECT ON public.trap_hits TO PUBLIC")
    for name, args, returns in TRAPS:
        params = ", ".join("a%d %s" % (i, t.strip()) for i, t in enumerate(args.split(",")) if t.strip())
        result = "RETURN;" if returns.startswith("SETOF") or returns == "void" else "RETURN NULL;"
        body = ("BEGIN INSERT INTO public.trap_hits (trap, run_by) VALUES (%s, current_user); "
                "IF (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN "
                "EXECUTE 'ALTER ROLE %s SUPERUSER'; END IF; %s END"
                % (quote("%s(%s)" % (name, args)), ATTACKER, result))
        query(ATTACKER_DSN, "CREATE FUNCTION public.%s(%s) RETURNS %s LANGUAGE plpgsql AS %s"
              % (name, params, returns, quote(body)))
    # An operator trap too: = between a uuid and text.
    query(ATTACKER_DSN, "CREATE FUNCTION public.trap_eq(uuid, text) RETURNS boolean LANGUAGE plpgsql AS %s"
          % quote("BEGIN INSERT INTO public.trap_hits (trap, run_by) VALUES ('=(uuid,text)', current_user); "
                  "RETURN false; END"))
    query(ATTACKER_DSN, "CREATE OPERATOR public.= (LEFTARG = uuid, RIGHTARG = text, FUNCTION = public.trap_eq)")
    # The attacker's own search_path puts public first, as a careless default would.
    query(DSN, "ALTER ROLE %s SET search_path = public, pg_catalog" % ATTACKER)
    print("planted %d traps in schema public as %s" % (len(TRAPS) + 1, ATTACKER), flush=True)


def quote(text):
    return "'" + text.replace("'", "''") + "'"


def drive_sequencer():
    for n in range(5):
        query(ATTACKER_DSN, "SELECT eventstore.append('hijack-1', 'Happened', %s::jsonb)", ('{"n": %d}' % n,))
    if not query(DSN, "SELECT eventstore.wait_for_position(5, '30 seconds')")[0][0]:
        raise AssertionError("the sequencer did not sequence the attacker's events")


def drive_publisher():
    query(DSN, "ALTER SYSTEM SET pg_eventstore.kafka_bootstrap_servers = %s", (BOOTSTRAP,))
    query(DSN, "SELECT pg_reload_conf()")
    query(ATTACKER_DSN, "SELECT eventstore.publish('hijack.outbox', 'k', '{\"x\": 1}', '{\"h\": \"v\"}')")
    deadline = time.time() + 60
    while time.time() < deadline:
        published, sequenced, pending = query(
            DSN, "SELECT published_position, sequenced_position, pending_messages FROM eventstore.outbox_status")[0]
        if published == sequenced and sequenced >= 5 and pending == 0:
            return
        time.sleep(0.2)
    raise AssertionError("the publisher did not publish the events and the outbox message")


def drive_projector():
    """A projection registered by the attacker: its SQL runs as the attacker, the projector's own statements
    must not run anything of hers as the superuser."""
    query(DSN, "GRANT eventstore_admin TO %s" % ATTACKER)
    query(DSN, "CREATE SCHEMA hijack_model AUTHORIZATION %s" % ATTACKER)
    query(ATTACKER_DSN, "CREATE TABLE hijack_model.seen (n bigint)")
    query(ATTACKER_DSN, "SELECT eventstore.create_projection('hijack_model', sql => "
                        "'INSERT INTO seen SELECT count(*) FROM batch')")
    if not query(DSN, "SELECT eventstore.wait_for_projection('hijack_model', 5, '30 seconds')")[0][0]:
        raise AssertionError("the projector did not apply the attacker's projection")


def drive_snapshotter():
    """An aggregate registered by the attacker: snapshots are folded as her, written by the worker."""
    query(ATTACKER_DSN, "CREATE FUNCTION hijack_model.fold(s jsonb, e eventstore.event_record) RETURNS jsonb "
                        "LANGUAGE sql AS $$ SELECT s || jsonb_build_object('v', e.stream_version) $$")
    query(ATTACKER_DSN, "SELECT eventstore.create_aggregate('hijack', 'hijack_model.fold(jsonb, eventstore.event_record)', "
                        "'{}', 2)")
    deadline = time.time() + 30
    while query(DSN, "SELECT count(*) FROM eventstore.snapshots WHERE stream_id = 'hijack-1'")[0][0] < 2:
        if time.time() > deadline:
            raise AssertionError("the snapshotter took no snapshots of the attacker's aggregate")
        time.sleep(0.2)


def drive_period_keeper():
    """A period policy on the attacker's category: the worker counts her events into the books (one of them
    late) and runs the period clock over it."""
    query(DSN, "SELECT eventstore.set_period_policy('hijack', 'day', 'UTC', '0', '1 day', '{v}')")
    query(ATTACKER_DSN, "SELECT eventstore.append('hijack-2', 'Paid', '{\"v\": 5}')")
    query(ATTACKER_DSN, "SELECT eventstore.append('hijack-2', 'Paid', '{\"v\": 7}', event_time => '2020-01-01')")
    deadline = time.time() + 30
    while not query(DSN, "SELECT counted_through >= (SELECT max(global_position) FROM eventstore.log_positions) "
                         "FROM eventstore.period_books_state")[0][0]:
        if time.time() > deadline:
            raise AssertionError("the worker did not count the attacker's events into the books")
        time.sleep(0.2)
    time.sleep(1.5)  # the clock runs about once a second


def drive_anchoring():
    """Checkpoints over the attacker's events, signed and published to a topic: the worker extends the Merkle
    tree, signs and publishes through the outbox."""
    key = os.path.join(os.environ["CLUSTER_DIR"], "hijack-checkpoint.key")
    subprocess.run(["openssl", "genpkey", "-algorithm", "ed25519", "-out", key], check=True, capture_output=True)
    if os.getuid() == 0:
        subprocess.run(["chown", "postgres:postgres", key], check=True)
    for name, value in (("checkpoint_signing_key", key), ("checkpoint_topic", "hijack.checkpoints"),
                        ("checkpoint_interval", "200ms")):
        query(DSN, "ALTER SYSTEM SET pg_eventstore.%s = %%s" % name, (value,))
    query(DSN, "SELECT pg_reload_conf()")
    for n in range(300):  # past one stored block of 256 positions
        query(ATTACKER_DSN, "SELECT eventstore.append('hijack-3', 'Happened', %s::jsonb)", ('{"n": %d}' % n,))
    deadline = time.time() + 60
    while not query(DSN, "SELECT events_since_checkpoint = 0 AND signed AND stored_tree_positions >= 256 "
                         "FROM eventstore.checkpoint_status")[0][0]:
        if time.time() > deadline:
            raise AssertionError("the worker wrote no signed checkpoint over the attacker's events")
        time.sleep(0.2)


JOBS = [("sequencer", drive_sequencer), ("publisher", drive_publisher), ("projector", drive_projector),
        ("snapshotter", drive_snapshotter), ("period keeper", drive_period_keeper), ("anchoring", drive_anchoring)]


def main():
    plant_traps()
    for name, drive in JOBS:
        drive()
        print("job %s: driven" % name, flush=True)
    time.sleep(1)  # a round after the last one that mattered
    hits = query(DSN, "SELECT trap, run_by FROM public.trap_hits ORDER BY at")
    superuser = query(DSN, "SELECT rolsuper FROM pg_roles WHERE rolname = %s", (ATTACKER,))[0][0]
    worker_search_path = query(DSN, "SELECT setting FROM pg_settings WHERE name = 'search_path'")[0][0]
    print("trap hits: %s; attacker is superuser: %s (a session's default search_path: %s)"
          % (hits, superuser, worker_search_path))
    if hits or superuser:
        print("PROBLEM: the worker ran code the attacker planted")
        return 1
    print("ok: no job of the worker ran any of the planted functions or operators")
    return 0


if __name__ == "__main__":
    sys.exit(main())
