#!/usr/bin/python3
"""verifier_offline.py — pg_eventstore_verify against an independent Python log.

Run by test/e2e/verifier_offline.sh:

    verifier_offline.py check VERIFIER          the end-to-end checks below
    verifier_offline.py generate DIR [--events N] [--data-bytes B] [--seed S]
                                                a log, checkpoints and a key
                                                for a speed measurement

No database: everything the database side would export is produced here,
with its own implementation of every format (hashlib, struct, and the
`cryptography` package for Ed25519; nothing is imported from the
repository), so the verifier and this file can only agree if both follow
the documents:

  - event hash: docs/hash-chain.md, canonical v1 encoding;
    hash(v) = SHA-256(canonical(v) || hash(v-1)), hash(0) = 32 zero bytes;
  - ledger: ledger(p) = SHA-256(ledger(p-1) || event_hash || p as 8-byte BE);
  - Merkle: RFC 9162 MTH over the ledger hashes, leaf = SHA-256(00 || l),
    node = SHA-256(01 || left || right), empty root = SHA-256("");
    audit paths and consistency proofs straight from RFC 9162 2.1.3/2.1.4;
  - the log export: PostgreSQL COPY text format (TAB, \\N, backslash escapes);
  - checkpoint lines and their Ed25519 signature over
    "pg_eventstore.checkpoint.v1\\n<n>\\n<size>\\n<root>\\n<head>\\n<created_at>\\n<key_id>".

The checks: the untouched log verifies with both keys of a rotation (and
duplicated checkpoint lines, proofs, stdin); and each way of tampering is
caught with the exact FAIL line naming the right position or checkpoint.
Exits 1 on any unexpected result.
"""
import hashlib
import json
import os
import random
import shutil
import struct
import subprocess
import sys
import tempfile
import uuid

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

GENESIS = bytes(32)
ABSENT = b"\xff\xff\xff\xff"


# ---------------------------------------------------------------------------
# Hashes (docs/hash-chain.md, docs/global-order.md, RFC 9162)
# ---------------------------------------------------------------------------
def field(raw):
    return struct.pack(">I", len(raw)) + raw


def int64(value):
    return field(struct.pack(">q", value))


def canonical(ev):
    return b"".join([
        field(b"pg_eventstore.event.v1"), field(ev["stream_id"].encode()), int64(ev["version"]),
        field(uuid.UUID(ev["event_id"]).bytes), field(ev["event_type"].encode()), int64(ev["schema"]),
        int64(ev["time_us"]), field(ev["data"].encode()),
        ABSENT if ev["metadata"] is None else field(ev["metadata"].encode()),
    ])


def sha(data):
    return hashlib.sha256(data).digest()


def seal(events):
    """Recomputes every event hash and ledger hash, positions 1.. in list order."""
    heads = {}
    ledger = GENESIS
    for position, ev in enumerate(events, start=1):
        ev["position"] = position
        ev["hash"] = sha(canonical(ev) + heads.get(ev["stream_id"], GENESIS))
        heads[ev["stream_id"]] = ev["hash"]
        ledger = sha(ledger + ev["hash"] + struct.pack(">q", position))
        ev["ledger"] = ledger


def leaf(ledger):
    return sha(b"\x00" + ledger)


def node(left, right):
    return sha(b"\x01" + left + right)


def split(n):
    """The largest power of two strictly smaller than n (n >= 2)."""
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def mth(leaves):
    """RFC 9162 2.1.1, recursively."""
    if not leaves:
        return sha(b"")
    if len(leaves) == 1:
        return leaves[0]
    k = split(len(leaves))
    return node(mth(leaves[:k]), mth(leaves[k:]))


def audit_path(m, leaves):
    """RFC 9162 2.1.3.1 PATH(m, D[n])."""
    if len(leaves) <= 1:
        return []
    k = split(len(leaves))
    if m < k:
        return audit_path(m, leaves[:k]) + [mth(leaves[k:])]
    return audit_path(m - k, leaves[k:]) + [mth(leaves[:k])]


def subproof(m, leaves, b):
    """RFC 9162 2.1.4.1 SUBPROOF(m, D[n], b)."""
    n = len(leaves)
    if m == n:
        return [] if b else [mth(leaves)]
    k = split(n)
    if m <= k:
        return subproof(m, leaves[:k], b) + [mth(leaves[k:])]
    return subproof(m - k, leaves[k:], False) + [mth(leaves[:k])]


# ---------------------------------------------------------------------------
# The database side's outputs
# ---------------------------------------------------------------------------
COPY_ESCAPES = {"\\": "\\\\", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\v": "\\v"}


def copy_text(value):
    """One column as PostgreSQL's COPY TO writes it (CopyAttributeOutText)."""
    if value is None:
        return "\\N"
    return "".join(COPY_ESCAPES.get(c, c) for c in str(value))


def log_line(ev):
    columns = [ev["position"], ev["stream_id"], ev["version"], ev["event_id"], ev["event_type"], ev["schema"],
               ev["time_us"], ev["data"], ev["metadata"], ev["hash"].hex(), ev["ledger"].hex()]
    return "\t".join(copy_text(c) for c in columns) + "\n"


def write_log(path, events):
    with open(path, "w", encoding="utf-8", newline="") as out:
        for ev in events:
            out.write(log_line(ev))


class Key:
    def __init__(self, seed):
        self.private = Ed25519PrivateKey.from_private_bytes(hashlib.sha256(seed).digest())
        public = self.private.public_key()
        raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        self.key_id = hashlib.sha256(raw).hexdigest()
        self.pem = public.public_bytes(serialization.Encoding.PEM,
                                       serialization.PublicFormat.SubjectPublicKeyInfo)


def checkpoint_line(number, size, events, key, created_at=None, root=None):
    """The line the database publishes for checkpoint `number` over the first `size` events."""
    leaves = [leaf(ev["ledger"]) for ev in events[:size]]
    root = (root or mth(leaves)).hex()
    head = (events[size - 1]["ledger"] if size else GENESIS).hex()
    created_at = created_at or "2026-11-28T13:%02d:00.%06dZ" % (number % 60, 123456 + number)
    if key is None:
        key_id = signature = None
    else:
        message = "\n".join(["pg_eventstore.checkpoint.v1", str(number), str(size), root, head, created_at,
                             key.key_id])
        key_id, signature = key.key_id, key.private.sign(message.encode()).hex()
    body = {"checkpoint": number, "tree_size": size, "root_hash": root, "ledger_head": head,
            "created_at": created_at, "key_id": key_id, "signature": signature}
    return json.dumps(body, separators=(",", ":"))


def inclusion_proof(position, size, events):
    leaves = [leaf(ev["ledger"]) for ev in events[:size]]
    ledger = events[position - 1]["ledger"]
    # jsonb sorts keys (shorter first): the verifier must not care about order.
    return json.dumps({"path": [h.hex() for h in audit_path(position - 1, leaves)], "type": "inclusion",
                       "root_hash": mth(leaves).hex(), "tree_size": size, "leaf_hash": leaf(ledger).hex(),
                       "ledger_hash": ledger.hex(), "global_position": position})


def consistency_proof(old_size, new_size, events):
    leaves = [leaf(ev["ledger"]) for ev in events[:new_size]]
    return json.dumps({"path": [h.hex() for h in subproof(old_size, leaves, True)], "type": "consistency",
                       "new_root": mth(leaves).hex(), "new_size": new_size,
                       "old_root": mth(leaves[:old_size]).hex(), "old_size": old_size})


# ---------------------------------------------------------------------------
# A varied log
# ---------------------------------------------------------------------------
ODD_STREAM = "odd\tstream\nwith\\back-slash \u00e9\u20ac"


def generate(count, seed=17, data_bytes=0):
    """`count` events over several streams; data_bytes > 0 pads data to about that size."""
    rng = random.Random(seed)
    streams = ["account-%d" % i for i in range(1, 6)] + [ODD_STREAM, "order-\U0001F600"]
    versions = {}
    events = []
    for i in range(count):
        stream = rng.choice(streams) if i >= len(streams) else streams[i]
        versions[stream] = versions.get(stream, 0) + 1
        data = {"n": i, "amount": rng.randint(1, 10 ** 6), "currency": "EUR",
                "note": rng.choice(["plain", "tab\there", "new\nline", "back\\slash \"quoted\"",
                                    "h\u00e9llo \u20ac \U0001F600", "cr\rvt\x0bff\x0c"])}
        if data_bytes:
            data["pad"] = "x" * max(0, data_bytes - 110)
        # jsonb's text form: ", " and ": " separators, non-ASCII as is.
        data_text = json.dumps(data, ensure_ascii=False, separators=(", ", ": "))
        metadata = None if i % 3 == 0 else json.dumps(
            {"correlation_id": "c-%d" % i, "causation": "\u00fcber\t%d" % (i // 7)},
            ensure_ascii=False, separators=(", ", ": "))
        events.append({
            "stream_id": stream, "version": versions[stream],
            "event_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            "event_type": "Odd\tType\\x" if stream == ODD_STREAM else rng.choice(["Deposited", "Withdrawn"]),
            "schema": 2 if i % 11 == 0 else 1,
            # One event before 1970: a negative time.
            "time_us": -86400123456 if i == 5 else 1768469400123456 + i * 1000003,
            "data": data_text, "metadata": metadata,
        })
    seal(events)
    return events


# ---------------------------------------------------------------------------
# The checks
# ---------------------------------------------------------------------------
class Checker:
    def __init__(self, verifier, work):
        self.verifier = verifier
        self.work = work
        self.failures = 0
        self.count = 0

    def path(self, name, content=None):
        path = os.path.join(self.work, name)
        if content is not None:
            with open(path, "w" if isinstance(content, str) else "wb") as out:
                out.write(content)
        return path

    def run(self, title, args, code, expected=None, stdin=None):
        """Runs the verifier; its exit status must be `code` and its output contain `expected`."""
        self.count += 1
        result = subprocess.run([self.verifier] + args, capture_output=True, text=True, timeout=60,
                                stdin=stdin)
        out = result.stdout.strip()
        ok = result.returncode == code and (expected is None or expected in out + result.stderr)
        if code == 1:
            # A FAIL is exactly one line on stdout.
            ok = ok and out.count("\n") == 0 and out.startswith("FAIL ")
        print("%s %-58s exit %d: %s" % ("ok  " if ok else "BAD ", title, result.returncode,
                                        (out or result.stderr.strip())[:150]))
        if not ok:
            self.failures += 1
            print("     expected exit %d with %r\n     stdout: %s\n     stderr: %s"
                  % (code, expected, result.stdout, result.stderr))


def check(verifier):
    work = tempfile.mkdtemp(prefix="verifier_offline.")
    c = Checker(verifier, work)
    events = generate(3000)
    n = len(events)
    key_a, key_b = Key(b"key A"), Key(b"key B")
    pem_a, pem_b = c.path("a.pem", key_a.pem), c.path("b.pem", key_b.pem)
    keys = ["--public-key", pem_a, "--public-key", pem_b]

    # Checkpoints 1-3 signed with key A, 4-6 with key B (a rotation).
    sizes = [0, 1, 700, 1024, 2049, n]
    lines = [checkpoint_line(i + 1, size, events, key_a if i < 3 else key_b) for i, size in enumerate(sizes)]
    # At-least-once delivery: a duplicate and a blank line are fine.
    anchored = c.path("anchored.jsonl", "\n".join(lines[:4] + [lines[2], ""] + lines[4:]) + "\n")
    database = c.path("database.copy", "".join(copy_text(line) + "\n" for line in lines))
    log = c.path("log.copy")
    write_log(log, events)
    base = ["--checkpoints", anchored] + keys

    def with_log(tampered):
        path = c.path("tampered.copy")
        write_log(path, tampered)
        return ["--log", path] + base

    def copy():
        return [dict(ev) for ev in events]

    print("%d events in %d streams, checkpoints at %s, work directory %s"
          % (n, len({ev["stream_id"] for ev in events}), sizes, work))

    # --- what must verify ---------------------------------------------------
    c.run("untouched log, keys A and B", ["--log", log, "--database-checkpoints", database] + base, 0,
          "OK: %d events, 7 streams, 6 checkpoints verified (6 signed)" % n)
    proofs = [c.path("inclusion_1.json", inclusion_proof(1, 1, events)),
              c.path("inclusion_900.json", inclusion_proof(900, 1024, events)),
              c.path("inclusion_last.json", inclusion_proof(n, n, events)),
              c.path("consistency.json", consistency_proof(700, 2049, events)),
              c.path("consistency_1024.json", consistency_proof(1024, n, events))]
    proof_args = [a for p in proofs for a in ("--proof", p)]
    c.run("untouched log with inclusion and consistency proofs", ["--log", log] + proof_args + base, 0, "5 proofs")
    c.run("proofs without a log", proof_args + base, 0, "no log given")
    with open(log) as stdin:
        c.run("the log on standard input", ["--log", "-"] + base, 0, "OK: %d events" % n, stdin=stdin)
    c.run("no checkpoints: only the chains", ["--log", log], 0, "0 checkpoints verified")

    # --- the log tampered ---------------------------------------------------
    p = 1500
    t = copy()
    t[p - 1]["data"] = t[p - 1]["data"].replace('"amount": ', '"amount": 1')
    ev = t[p - 1]
    c.run("an event's data changed", with_log(t), 1,
          "FAIL position %d (stream %s version %d): event hash does not match its fields"
          % (p, ev["stream_id"], ev["version"]))

    # The same change with the stream's later hashes and the whole ledger
    # recomputed: every chain holds, only the anchored root catches it.
    seal(t)
    c.run("history rewritten (data, chain and ledger recomputed)", with_log(t), 1,
          "FAIL checkpoint 5 (tree size 2049): root does not match the log")

    p = 1100
    forged = [{"stream_id": "forged-1", "version": v, "event_id": str(uuid.UUID(int=v, version=4)),
               "event_type": "Deposited", "schema": 1, "time_us": 1768469400000000 + v,
               "data": '{"amount": 1000000}', "metadata": None} for v in (1, 2, 3)]
    t = copy()
    t[p - 1:p - 1] = forged
    seal(t)
    c.run("a forged stream spliced in, everything recomputed", with_log(t), 1,
          "FAIL checkpoint 5 (tree size 2049): root does not match the log")

    c.run("tail truncated", with_log(copy()[:n - 10]), 1,
          "FAIL checkpoint 6 covers %d positions but the log ends at position %d" % (n, n - 10))

    t = copy()
    del t[999]
    c.run("a row removed", with_log(t), 1, "FAIL position 1001: expected position 1000")

    t = copy()
    t[1999]["ledger"] = bytes(32)
    c.run("a ledger hash changed", with_log(t), 1, "FAIL position 2000: ledger hash does not match")

    t = copy()
    t[9]["hash"] = bytes(32)
    c.run("an event hash changed", with_log(t), 1,
          "FAIL position 10 (stream %s version %d): event hash does not match its fields"
          % (t[9]["stream_id"], t[9]["version"]))

    # Positions shifted: two rows of different streams swapped, all recomputed.
    t = copy()
    i = next(i for i in range(400, n) if t[i]["stream_id"] != t[i + 1]["stream_id"])
    t[i], t[i + 1] = t[i + 1], t[i]
    seal(t)
    c.run("two events of different streams swapped, recomputed", with_log(t), 1,
          "FAIL checkpoint 3 (tree size 700): root does not match the log")

    t = copy()
    bad = c.path("short_row.copy", "".join(log_line(ev) for ev in t[:5]) + "6\tshort\n")
    c.run("a malformed row", ["--log", bad] + base, 1, "FAIL log line 6: expected 11 columns, found 2")

    # --- the checkpoints tampered -------------------------------------------
    def anchored_with(new_lines, name="anchored2.jsonl"):
        return c.path(name, "\n".join(new_lines) + "\n")

    altered = lines[3].replace('"created_at":"2026-11-28T13:04', '"created_at":"2026-11-28T14:04')
    assert altered != lines[3]
    c.run("a checkpoint line altered (created_at)",
          ["--log", log, "--checkpoints", anchored_with(lines[:3] + [altered] + lines[4:])] + keys, 1,
          "FAIL checkpoint 4: bad signature")
    c.run("a checkpoint's root altered (re-signed with a key not given)",
          ["--log", log, "--checkpoints",
           anchored_with(lines[:2] + [checkpoint_line(3, 700, events, Key(b"mallory"), root=sha(b"x"))] + lines[3:])]
          + keys, 1, "FAIL checkpoint 3: signed by an unknown key %s" % Key(b"mallory").key_id)
    c.run("a checkpoint signed by a key not given (only key A)",
          ["--log", log, "--checkpoints", anchored, "--public-key", pem_a], 1,
          "FAIL checkpoint 4: signed by an unknown key %s" % key_b.key_id)
    unsigned = anchored_with([checkpoint_line(i + 1, s, events, None) for i, s in enumerate(sizes)], "unsigned.jsonl")
    c.run("unsigned checkpoints", ["--log", log, "--checkpoints", unsigned], 1, "FAIL checkpoint 1 is unsigned")
    c.run("unsigned checkpoints with --allow-unsigned", ["--log", log, "--checkpoints", unsigned, "--allow-unsigned"],
          0, "6 checkpoints verified (0 signed)")
    c.run("two different lines for checkpoint 5",
          ["--log", log, "--checkpoints",
           anchored_with(lines + [checkpoint_line(5, 2049, events, key_b, created_at="2027-01-01T00:00:00.000000Z")])]
          + keys, 1, "FAIL checkpoint 5 appears twice with different contents (checkpoint file lines 5 and 7)")
    c.run("tree sizes decreasing",
          ["--log", log, "--checkpoints",
           anchored_with(lines[:4] + [checkpoint_line(5, 1000, events, key_b)] + lines[5:])] + keys, 1,
          "FAIL checkpoint 5 (tree size 1000) is smaller than checkpoint 4 before it (tree size 1024)")
    c.run("a checkpoint line that is not JSON",
          ["--log", log, "--checkpoints", anchored_with(lines[:2] + [lines[2][:-1]] + lines[3:])] + keys, 1,
          "FAIL checkpoint file line 3: not a checkpoint: JSON: expected")
    # A checkpoint from another history (valid signature, wrong root).
    c.run("a signed checkpoint with a root the log does not have",
          ["--log", log, "--checkpoints",
           anchored_with(lines[:3] + [checkpoint_line(4, 1024, events, key_b, root=sha(b"other"))] + lines[4:])]
          + keys, 1, "FAIL checkpoint 4 (tree size 1024): root does not match the log")

    # --- the database's copy of the checkpoints -----------------------------
    def database_with(db_lines):
        return c.path("database2.copy", "".join(copy_text(line) + "\n" for line in db_lines))

    c.run("a checkpoint missing from the database",
          ["--log", log, "--database-checkpoints", database_with(lines[:2] + lines[3:])] + base, 1,
          "FAIL checkpoint 3 is missing from the database")
    c.run("a checkpoint altered in the database",
          ["--log", log, "--database-checkpoints",
           database_with(lines[:3] + [checkpoint_line(4, 1024, events, key_b, created_at="2026-12-01T00:00:00Z")]
                         + lines[4:])] + base, 1, "FAIL checkpoint 4 differs in the database")
    c.run("the database has more checkpoints than the auditor",
          ["--log", log, "--database-checkpoints", database_with(lines + [checkpoint_line(7, n, events, key_b)])]
          + base, 0, "OK")

    # --- proofs ---------------------------------------------------------------
    wrong = json.loads(open(proofs[1]).read())
    wrong["path"][0] = sha(b"wrong").hex()
    c.run("an inclusion proof with a wrong path",
          ["--log", log, "--proof", c.path("wrong.json", json.dumps(wrong))] + base, 1,
          "the audit path does not lead from position 900 to the root of tree size 1024")
    c.run("an inclusion proof for a size no checkpoint has",
          ["--log", log, "--proof", c.path("unanchored.json", inclusion_proof(900, 1000, events))] + base, 1,
          "no anchored checkpoint has tree size 1000")
    wrong = json.loads(open(proofs[3]).read())
    wrong["old_root"] = sha(b"wrong").hex()
    c.run("a consistency proof with a wrong old root",
          ["--proof", c.path("wrong_consistency.json", json.dumps(wrong))] + base, 1,
          "the consistency proof from tree size 700 to 2049 does not hold")
    # The proof is from the anchored history; the log is a rewrite before it.
    t = copy()
    t[799]["data"] = t[799]["data"].replace('"n": ', '"n": 9')
    seal(t)
    c.run("an inclusion proof the rewritten log contradicts", with_log(t) + ["--proof", proofs[1]], 1,
          "FAIL proof %s: its ledger hash differs from the log's at position 900" % proofs[1])

    # --- usage and I/O errors ------------------------------------------------
    c.run("no arguments", [], 2, "nothing to verify")
    c.run("a log file that does not exist", ["--log", c.path("nothing.copy")], 2, "could not open")
    c.run("a public key file that is not a key", ["--log", log, "--public-key", log], 2, "holds no PEM public key")
    c.run("--proof without --checkpoints", ["--proof", proofs[0]], 2, "need --checkpoints")

    print("%d of %d checks as expected" % (c.count - c.failures, c.count))
    if c.failures == 0:
        shutil.rmtree(work)
    return 1 if c.failures else 0


def generate_files(directory, count, data_bytes, seed):
    """A log and its checkpoints for a speed measurement."""
    os.makedirs(directory, exist_ok=True)
    events = generate(count, seed=seed, data_bytes=data_bytes)
    write_log(os.path.join(directory, "log.copy"), events)
    key = Key(b"bench")
    with open(os.path.join(directory, "key.pem"), "wb") as out:
        out.write(key.pem)
    sizes = [count // 3, count // 2, count]
    with open(os.path.join(directory, "checkpoints.jsonl"), "w") as out:
        for i, size in enumerate(sizes):
            out.write(checkpoint_line(i + 1, size, events, key) + "\n")
    print("%d events, %d bytes in %s" % (count, os.path.getsize(os.path.join(directory, "log.copy")), directory))
    return 0


def main(argv):
    if len(argv) == 2 and argv[0] == "check":
        return check(argv[1])
    if len(argv) >= 2 and argv[0] == "generate":
        options = {"--events": 3000, "--data-bytes": 0, "--seed": 17}
        rest = argv[2:]
        while rest:
            if rest[0] not in options or len(rest) < 2:
                break
            options[rest[0]] = int(rest[1])
            rest = rest[2:]
        if not rest:
            return generate_files(argv[1], options["--events"], options["--data-bytes"], options["--seed"])
    print(__doc__.split("\n\n")[1], file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
