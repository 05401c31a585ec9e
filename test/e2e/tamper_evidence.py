"""tamper_evidence.py — anchored checkpoints catch what the database's own
superuser can do to the log (docs/tamper-evidence.md).

A real server with the worker signing checkpoints (Ed25519 key files made
by openssl), publishing them through the outbox to the embedded Kafka
broker and appending them to a file; kcat keeps the auditor's copy.  Then:

  - the untouched log verifies with the offline verifier
    (tools/pg_eventstore_verify), under two keys (a rotation halfway);
  - inclusion and consistency proofs from SQL verify, a tampered one fails;
  - each attack, done as a superuser with the triggers disabled and every
    hash the database holds recomputed, is caught by the verifier against
    the anchored checkpoints, naming the checkpoint or position:
      * an event's data changed, nothing recomputed;
      * history rewritten: an event changed, its stream chain and the whole
        ledger recomputed;
      * a forged stream spliced into the past of the log, positions moved
        and the ledger recomputed;
      * the newest events removed;
      * a checkpoint row altered, and one deleted, in the database.
    Every attack runs in a transaction that is exported and rolled back, so
    the next one starts from the real log.

    python3 tamper_evidence.py   (env: PGHOST, PGPORT, PGDATABASE, CLUSTER_DIR,
                                  BROKER_DIR, BOOTSTRAP)
"""
import json
import os
import re
import subprocess
import sys
import time

from cluster_control import CLUSTER_DIR, DSN, query
from eventstore_load import connect

BOOTSTRAP = os.environ["BOOTSTRAP"]
PROJECT_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
VERIFIER = os.path.join(PROJECT_ROOT, "tools", "pg_eventstore_verify")
TOPIC = "audit.checkpoints"
WORK = os.path.join(CLUSTER_DIR, "anchors")   # the auditor's side and the key files
CHECKPOINT_FILE = os.path.join(WORK, "checkpoints-file.jsonl")


def sql(statement, params=None):
    return query(DSN, statement, params)


def run(command, **kwargs):
    return subprocess.run(command, capture_output=True, text=True, **kwargs)


def make_key(name):
    private = os.path.join(WORK, name + ".key")
    public = os.path.join(WORK, name + ".pub")
    for command in (["openssl", "genpkey", "-algorithm", "ed25519", "-out", private],
                    ["openssl", "pkey", "-in", private, "-pubout", "-out", public]):
        result = run(command)
        assert result.returncode == 0, result.stderr
    if os.getuid() == 0:
        subprocess.run(["chown", "postgres:postgres", private], check=True)
    os.chmod(private, 0o600)
    return private, public


def configure(**settings):
    for name, value in settings.items():
        sql("ALTER SYSTEM SET pg_eventstore.%s = %%s" % name, (str(value),))
    sql("SELECT pg_reload_conf()")
    time.sleep(0.5)


def append_events(prefix, streams, per_stream):
    connection = connect(DSN, time.time() + 60)
    connection.autocommit = True
    cursor = connection.cursor()
    for version in range(per_stream):
        for stream in range(streams):
            cursor.execute("SELECT eventstore.append(%s, 'Deposited', %s::jsonb, %s::jsonb)",
                           ("%s-%d" % (prefix, stream),
                            json.dumps({"amount": version * 10 + stream, "memo": "tab\there, quote \" é"}),
                            json.dumps({"by": "e2e"}) if version % 3 == 0 else None))
    connection.close()


def wait_for(description, predicate, timeout=120):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return
        time.sleep(0.3)
    raise AssertionError("timed out waiting for " + description)


def caught_up():
    """Every sequenced event is under a checkpoint, and the outbox has delivered them all."""
    status = sql("SELECT events_since_checkpoint, last_checkpoint FROM eventstore.checkpoint_status")[0]
    outbox = sql("SELECT pending_messages FROM eventstore.outbox_status")[0][0]
    events = sql("SELECT count(*) FROM eventstore.events")[0][0]
    sequenced = sql("SELECT coalesce(max(global_position), 0) FROM eventstore.log_positions")[0][0]
    return sequenced == events and status[0] == 0 and status[1] is not None and outbox == 0


def keep_auditor_copy():
    """What an auditor keeps: every checkpoint line from the topic, kcat -e -f '%s\\n'."""
    result = run(["kcat", "-C", "-b", BOOTSTRAP, "-t", TOPIC, "-o", "beginning", "-e", "-q", "-f", "%s\n"],
                 timeout=120)
    assert result.returncode == 0, result.stderr
    path = os.path.join(WORK, "auditor-checkpoints.jsonl")
    with open(path, "w") as out:
        out.write(result.stdout)
    return path, [line for line in result.stdout.splitlines() if line.strip()]


def export(cursor, name):
    """The log and the database's checkpoints as the verifier reads them, as the cursor's transaction sees them."""
    log = os.path.join(WORK, name + ".log.tsv")
    checkpoints = os.path.join(WORK, name + ".db-checkpoints.jsonl")
    with open(log, "w") as out:
        cursor.copy_expert("COPY (SELECT * FROM eventstore.export_log()) TO STDOUT", out)
    with open(checkpoints, "w") as out:
        cursor.copy_expert("COPY (SELECT line FROM eventstore.checkpoints ORDER BY checkpoint) TO STDOUT", out)
    return log, checkpoints


def names(output, expected):
    """Whether the verifier's FAIL line names what the attack changed: a text, or a position that must lie
    in the range of positions the line gives ("... at a position from A to B")."""
    line = next((l for l in output.splitlines() if l.startswith("FAIL")), "")
    if isinstance(expected, str):
        return expected in line
    match = re.search(r"at a position from (\d+) to (\d+)", line)
    return bool(match) and int(match.group(1)) <= expected <= int(match.group(2))


def verify(log, db_checkpoints, anchored, public_keys, proofs=()):
    command = [VERIFIER, "--checkpoints", anchored, "--log", log, "--database-checkpoints", db_checkpoints]
    for key in public_keys:
        command += ["--public-key", key]
    for proof in proofs:
        command += ["--proof", proof]
    result = run(command, timeout=300)
    output = (result.stdout + result.stderr).strip()
    print("  verifier exit %d: %s" % (result.returncode, output.splitlines()[-1] if output else ""), flush=True)
    return result.returncode, output


# ---- attacks: each takes a cursor inside an open transaction, as a superuser ----

RECOMPUTE_LEDGER = """
DO $$
DECLARE
    r record;
    previous bytea := coalesce((SELECT ledger_hash FROM eventstore.log_positions WHERE global_position = %(from)s - 1),
                               '\\x0000000000000000000000000000000000000000000000000000000000000000'::bytea);
BEGIN
    FOR r IN SELECT p.global_position, e.hash FROM eventstore.log_positions p
             JOIN eventstore.events e USING (stream_id, stream_version)
             WHERE p.global_position >= %(from)s ORDER BY p.global_position LOOP
        previous := eventstore.ledger_hash(previous, r.hash, r.global_position);
        UPDATE eventstore.log_positions SET ledger_hash = previous WHERE global_position = r.global_position;
    END LOOP;
END $$;
"""

RECOMPUTE_STREAM = """
DO $$
DECLARE
    r record;
    previous bytea := coalesce((SELECT hash FROM eventstore.events
                                WHERE stream_id = %(stream)s AND stream_version = %(from)s - 1),
                               '\\x0000000000000000000000000000000000000000000000000000000000000000'::bytea);
BEGIN
    FOR r IN SELECT * FROM eventstore.events WHERE stream_id = %(stream)s AND stream_version >= %(from)s
             ORDER BY stream_version LOOP
        previous := eventstore.event_hash(r.stream_id, r.stream_version, r.event_id, r.event_type,
                                          r.schema_version, r.event_time, r.data, r.metadata, previous);
        UPDATE eventstore.events SET hash = previous
        WHERE stream_id = r.stream_id AND stream_version = r.stream_version;
    END LOOP;
    UPDATE eventstore.streams SET head_hash = previous WHERE stream_id = %(stream)s;
END $$;
"""


def position_of(cursor, stream, version):
    cursor.execute("SELECT global_position FROM eventstore.log_positions WHERE stream_id = %s AND stream_version = %s",
                   (stream, version))
    return cursor.fetchone()[0]


def attack_change_data(cursor):
    cursor.execute("UPDATE eventstore.events SET data = '{\"amount\": 1000000}' "
                   "WHERE stream_id = 'acct-3' AND stream_version = 5")
    return "position %d" % position_of(cursor, "acct-3", 5)


def attack_rewrite_history(cursor):
    cursor.execute("UPDATE eventstore.events SET data = '{\"amount\": 1000000}' "
                   "WHERE stream_id = 'acct-3' AND stream_version = 5")
    cursor.execute(RECOMPUTE_STREAM, {"stream": "acct-3", "from": 5})
    first = position_of(cursor, "acct-3", 5)
    cursor.execute(RECOMPUTE_LEDGER, {"from": first})
    return first


def attack_forged_stream(cursor):
    """Three events of a stream that never existed, given positions 101..103 of the log."""
    cursor.execute("""
        UPDATE eventstore.log_positions SET global_position = -global_position WHERE global_position > 100;
        UPDATE eventstore.log_positions SET global_position = -global_position + 3 WHERE global_position < 0;
        INSERT INTO eventstore.streams (stream_id, category, version, head_hash)
        VALUES ('forged-1', 'forged', 0, '\\x00'::bytea);
        INSERT INTO eventstore.events (stream_id, stream_version, event_id, event_type, schema_version, data,
                                       metadata, event_time, ingest_time, hash, xid, insert_seq)
        SELECT 'forged-1', v, gen_random_uuid(), 'Deposited', 1, jsonb_build_object('amount', 999999), NULL,
               now() - interval '30 days', now() - interval '30 days', '\\x00'::bytea, pg_current_xact_id(), 0
        FROM generate_series(1, 3) v;
        INSERT INTO eventstore.log_positions (global_position, stream_id, stream_version, category, ledger_hash)
        SELECT 100 + v, 'forged-1', v, 'forged', '\\x00'::bytea FROM generate_series(1, 3) v;
    """)
    cursor.execute(RECOMPUTE_STREAM, {"stream": "forged-1", "from": 1})
    cursor.execute(RECOMPUTE_LEDGER, {"from": 101})
    return 101


def attack_truncate_tail(cursor):
    cursor.execute("SELECT max(global_position) FROM eventstore.log_positions")
    last = cursor.fetchone()[0]
    cursor.execute("""
        DELETE FROM eventstore.events e USING eventstore.log_positions p
        WHERE p.stream_id = e.stream_id AND p.stream_version = e.stream_version AND p.global_position > %s;
        DELETE FROM eventstore.log_positions WHERE global_position > %s;
    """, (last - 5, last - 5))
    return "checkpoint"


def attack_alter_checkpoint_row(cursor):
    cursor.execute("SELECT checkpoint FROM eventstore.checkpoints ORDER BY checkpoint LIMIT 1 OFFSET 1")
    number = cursor.fetchone()[0]
    cursor.execute("UPDATE eventstore.checkpoints SET line = replace(line, '\"tree_size\": ', '\"tree_size\": 1') "
                   "WHERE checkpoint = %s", (number,))
    return "checkpoint %d" % number


def attack_delete_checkpoint_row(cursor):
    cursor.execute("SELECT max(checkpoint) FROM eventstore.checkpoints")
    number = cursor.fetchone()[0]
    cursor.execute("DELETE FROM eventstore.checkpoints WHERE checkpoint = %s", (number,))
    return "checkpoint %d" % number


ATTACKS = [
    ("data changed, nothing recomputed", attack_change_data),
    ("history rewritten, chain and ledger recomputed", attack_rewrite_history),
    ("forged stream spliced into the past, everything recomputed", attack_forged_stream),
    ("newest events removed", attack_truncate_tail),
    ("a checkpoint row altered in the database", attack_alter_checkpoint_row),
    ("a checkpoint row deleted in the database", attack_delete_checkpoint_row),
]


def main():
    os.makedirs(WORK, exist_ok=True)
    if os.getuid() == 0:
        subprocess.run(["chown", "postgres:postgres", WORK], check=True)
    key_a, public_a = make_key("key-a")
    key_b, public_b = make_key("key-b")
    configure(kafka_bootstrap_servers=BOOTSTRAP, checkpoint_topic=TOPIC, checkpoint_signing_key=key_a,
              checkpoint_file=CHECKPOINT_FILE, checkpoint_interval="300ms", checkpoint_interval_events=200)
    assert sql("SELECT eventstore.checkpoint_public_key()")[0][0] == open(public_a).read(), "public key A"

    print("-- appending under key A", flush=True)
    append_events("acct", 8, 60)
    wait_for("checkpoints under key A", caught_up)
    print("-- rotating to key B", flush=True)
    configure(checkpoint_signing_key=key_b)
    assert sql("SELECT eventstore.checkpoint_public_key()")[0][0] == open(public_b).read(), "public key B"
    append_events("shop", 5, 40)
    wait_for("checkpoints under key B", caught_up)
    keys = sql("SELECT count(DISTINCT key_id), count(*) FROM eventstore.checkpoints")[0]
    print("checkpoints: %d, signing keys: %d" % (keys[1], keys[0]), flush=True)
    assert keys[0] == 2 and keys[1] >= 4, keys

    anchored, lines = keep_auditor_copy()
    with open(CHECKPOINT_FILE) as kept:
        file_lines = [line for line in kept.read().splitlines() if line.strip()]
    db_lines = [row[0] for row in sql("SELECT line FROM eventstore.checkpoints ORDER BY checkpoint")]
    assert sorted(set(lines)) == sorted(db_lines), "the topic carries every checkpoint exactly as stored"
    assert file_lines == db_lines, "the file carries every checkpoint exactly as stored"

    connection = connect(DSN, time.time() + 60)
    cursor = connection.cursor()
    log, db_checkpoints = export(cursor, "untouched")
    connection.rollback()

    print("-- untouched log, both keys", flush=True)
    code, output = verify(log, db_checkpoints, anchored, [public_a, public_b])
    assert code == 0, output
    print("-- untouched log, only the new key", flush=True)
    code, output = verify(log, db_checkpoints, anchored, [public_b])
    assert code == 1 and "key" in output, output

    print("-- proofs", flush=True)
    sizes = [row[0] for row in sql("SELECT tree_size FROM eventstore.checkpoints ORDER BY checkpoint")]
    proofs = []
    for name, statement, params in (
            ("inclusion-first", "SELECT eventstore.inclusion_proof(1, %s)", (sizes[-1],)),
            ("inclusion-middle", "SELECT eventstore.inclusion_proof(%s, %s)", (sizes[1] // 2 + 1, sizes[1])),
            ("inclusion-latest", "SELECT eventstore.inclusion_proof(%s)", (sizes[-1],)),
            ("consistency", "SELECT eventstore.consistency_proof(%s, %s)", (sizes[0], sizes[-1]))):
        path = os.path.join(WORK, name + ".json")
        with open(path, "w") as out:
            out.write(json.dumps(sql(statement, params)[0][0]))
        proofs.append(path)
    code, output = verify(log, db_checkpoints, anchored, [public_a, public_b], proofs)
    assert code == 0, output
    tampered = json.load(open(proofs[1]))
    tampered["path"][0] = "00" * 32
    bad_proof = os.path.join(WORK, "inclusion-tampered.json")
    with open(bad_proof, "w") as out:
        out.write(json.dumps(tampered))
    code, output = verify(log, db_checkpoints, anchored, [public_a, public_b], [bad_proof])
    assert code == 1, output

    failures = []
    for description, attack in ATTACKS:
        print("-- attack: " + description, flush=True)
        cursor.execute("SET session_replication_role = replica")  # the superuser turns the guards off
        expected = attack(cursor)
        log, db_checkpoints = export(cursor, "attacked")
        connection.rollback()
        code, output = verify(log, db_checkpoints, anchored, [public_a, public_b])
        if code != 1 or not names(output, expected):
            failures.append("%s: expected a FAIL naming %r, got exit %d: %s" % (description, expected, code, output))
    connection.close()

    print("-- the log after the attacks were rolled back", flush=True)
    connection = connect(DSN, time.time() + 60)
    log, db_checkpoints = export(connection.cursor(), "after")
    connection.close()
    code, output = verify(log, db_checkpoints, anchored, [public_a, public_b])
    if code != 0:
        failures.append("the log after rollback: " + output)

    if failures:
        print("\n".join(failures))
        sys.exit(1)
    print("tamper evidence: every attack caught, the untouched log verifies", flush=True)


if __name__ == "__main__":
    main()
