#!/usr/bin/python3
"""docs_examples.py — runs the examples of README.md and docs/*.md and checks them.

Called by docs_examples.sh inside a throwaway cluster (PGHOST, PGPORT,
PGDATABASE and PGUSER set).  The rules, which the documentation follows:

* Every ```sql block runs, in order, through its own `psql -X -v ON_ERROR_STOP=1`
  session (so SET ROLE or SET in one block never leaks into the next).
  Files run in this order: README.md, then docs/*.md by name.
* A ```sql block whose first line is `-- expect: ERROR <SQLSTATE>` must fail:
  its last statement, and only that one, must raise exactly that SQLSTATE.
* A ```python block runs with /usr/bin/python3 (the Debian python, which has
  psycopg2) in the same environment.
* A ```text block that directly follows a ```sql or ```python block (only
  blank lines between) is that example's output: psql's output (stdout and
  stderr, as a terminal shows them) must match it line for line, trailing
  spaces ignored.  Output that is not fixed (generated ids, ingest times,
  positions the worker assigns) is simply not shown in a ```text block.
* ```sql-nocheck and ```python-nocheck blocks are shown to readers but not run.

Exit status 0 when every example passed; otherwise the failing block, its
output and the difference are printed and the status is 1.

    docs_examples.py [--print] [FILE.md ...]

--print shows each block's actual output (handy while writing docs).
"""
import difflib
import glob
import os
import re
import subprocess
import sys

PROJECT_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
PYTHON = "/usr/bin/python3"
EXPECT_ERROR = re.compile(r"^\s*--\s*expect:\s*ERROR\s+([0-9A-Z]{5})\s*$")
FENCE = re.compile(r"^(\s*)(`{3,}|~{3,})\s*([A-Za-z0-9_+-]*)\s*$")
MARKER = "@@docs_examples"


class Block:
    def __init__(self, path, line, lang, text):
        self.path, self.line, self.lang, self.text = path, line, lang, text
        self.expected_output = None  # text of a directly following ```text block

    def where(self):
        return "%s:%d" % (os.path.relpath(self.path, PROJECT_ROOT), self.line)


def parse_blocks(path):
    """Fenced blocks of a Markdown file, with each runnable block's expected output."""
    blocks = []
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    i = 0
    blank_run_after_block = None  # index in blocks of the block just closed, if only blanks since
    while i < len(lines):
        match = FENCE.match(lines[i])
        if not match:
            if lines[i].strip() != "":
                blank_run_after_block = None
            i += 1
            continue
        indent, fence, lang = match.group(1), match.group(2), match.group(3).lower()
        start = i + 1
        body = []
        i += 1
        while i < len(lines):
            stripped = lines[i].strip()
            if stripped.startswith(fence[0] * len(fence)) and stripped.strip(fence[0]) == "":
                break
            line = lines[i]
            body.append(line[len(indent):] if line.startswith(indent) else line.lstrip())
            i += 1
        i += 1  # past the closing fence
        block = Block(path, start, lang, "\n".join(body) + "\n")
        if (lang == "text" and blank_run_after_block is not None
                and blocks[blank_run_after_block].lang in ("sql", "python")):
            blocks[blank_run_after_block].expected_output = block.text
        blocks.append(block)
        blank_run_after_block = len(blocks) - 1
    return blocks


def normalize(text):
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").split("\n")]
    while lines and lines[0] == "":
        lines.pop(0)
    while lines and lines[-1] == "":
        lines.pop()
    return lines


def find_psql():
    """psql of the PostgreSQL that pg_config names (the one the extension is built for)."""
    try:
        bindir = subprocess.run(["pg_config", "--bindir"], stdout=subprocess.PIPE,
                                universal_newlines=True, check=True).stdout.strip()
        if os.access(os.path.join(bindir, "psql"), os.X_OK):
            return os.path.join(bindir, "psql")
    except (OSError, subprocess.CalledProcessError):
        pass
    return "psql"


PSQL = find_psql()


def run_process(argv, stdin_text):
    env = dict(os.environ)
    # The documented outputs assume UTC, ISO dates, UTF-8 and untranslated messages.
    env.update(PGTZ="UTC", PGDATESTYLE="ISO, MDY", PGCLIENTENCODING="UTF8", LC_ALL="C.UTF-8",
               PGAPPNAME="docs_examples")
    proc = subprocess.run(argv, input=stdin_text, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          env=env, universal_newlines=True, cwd=PROJECT_ROOT)
    return proc.returncode, proc.stdout


def run_sql(block):
    """Runs a sql block; returns (problem or None, output as a reader sees it)."""
    first_line = block.text.lstrip("\n").split("\n", 1)[0]
    expect = EXPECT_ERROR.match(first_line)
    if not expect:
        status, output = run_process([PSQL, "-X", "-v", "ON_ERROR_STOP=1"], block.text)
        if status != 0:
            return "psql exited with status %d (an example that fails must start with "\
                   "'-- expect: ERROR <SQLSTATE>')" % status, output
        if any(line.startswith("ERROR:") for line in output.split("\n")):
            return "an error was reported", output
        return None, output

    # Expected failure: keep going after the error so that psql can tell us
    # whether the *last* statement failed and with which SQLSTATE.
    wanted = expect.group(1)
    script = block.text + "\n\\echo %s :ERROR :LAST_ERROR_SQLSTATE\n" % MARKER
    status, output = run_process([PSQL, "-X", "-v", "ON_ERROR_STOP=0"], script)
    lines = output.split("\n")
    marker = [line for line in lines if line.startswith(MARKER)]
    shown = "\n".join(line for line in lines if not line.startswith(MARKER))
    if status != 0 or len(marker) != 1:
        return "psql exited with status %d" % status, shown
    _, failed, sqlstate = marker[0].split()
    errors = sum(1 for line in lines if line.startswith("ERROR:"))
    if failed != "true":
        return "expected ERROR %s from the last statement, but it succeeded" % wanted, shown
    if errors != 1:
        return "expected exactly one error (from the last statement), got %d" % errors, shown
    if sqlstate != wanted:
        return "expected SQLSTATE %s, got %s" % (wanted, sqlstate), shown
    return None, shown


def run_python(block):
    status, output = run_process([PYTHON, "-"], block.text)
    if status != 0:
        return "python exited with status %d" % status, output
    return None, output


def default_files():
    files = [os.path.join(PROJECT_ROOT, "README.md")]
    files += sorted(glob.glob(os.path.join(PROJECT_ROOT, "docs", "*.md")))
    return [f for f in files if os.path.exists(f)]


def main(argv):
    show = "--print" in argv
    files = [a for a in argv if a != "--print"] or default_files()
    counts = {"sql": 0, "python": 0, "errors": 0, "outputs": 0, "skipped": 0}
    for path in files:
        for block in parse_blocks(os.path.abspath(path)):
            if block.lang.endswith("-nocheck"):
                counts["skipped"] += 1
                continue
            if block.lang == "sql":
                problem, output = run_sql(block)
                counts["sql"] += 1
                if EXPECT_ERROR.match(block.text.lstrip("\n").split("\n", 1)[0]):
                    counts["errors"] += 1
            elif block.lang == "python":
                problem, output = run_python(block)
                counts["python"] += 1
            else:
                continue
            if show:
                print("---- %s (%s)\n%s" % (block.where(), block.lang, output.rstrip("\n")))
            if problem is None and block.expected_output is not None:
                counts["outputs"] += 1
                want, got = normalize(block.expected_output), normalize(output)
                if want != got:
                    problem = "output differs from the documented output:\n" + "\n".join(
                        difflib.unified_diff(want, got, "documented", "actual", lineterm=""))
            if problem is not None:
                print("FAILED example at %s (```%s):" % (block.where(), block.lang))
                print("".join("    | " + line + "\n" for line in block.text.rstrip("\n").split("\n")))
                print(problem)
                print("output:")
                print("".join("    | " + line + "\n" for line in output.rstrip("\n").split("\n")))
                return 1
    print("docs examples: %d sql blocks (%d expected errors), %d python blocks, %d outputs checked, "
          "%d skipped: all passed" % (counts["sql"], counts["errors"], counts["python"], counts["outputs"],
                                      counts["skipped"]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
