"""runner.py — finds the scenarios in bench/scenarios/ and runs one of them.

    runner.py list             scenario names, in run order
    runner.py conf NAME        extra postgresql.conf lines NAME asks for
    runner.py run NAME OUT [LOGS]
                               run NAME against the cluster in PGHOST/PGPORT/
                               PGDATABASE, write its rows to OUT (JSON) and
                               raw outputs under LOGS/NAME

scripts/bench.sh drives it: one throwaway cluster per scenario, so no
scenario inherits another's tables, bloat or settings.  A scenario is a
module bench/scenarios/NAME.py with:

    TITLE = "one line"             what it measures
    ORDER = 10                     position in a full run
    CLUSTER_CONF = []              optional extra postgresql.conf lines
                                   ("key=value", no spaces)
    def run(bench): ...            uses benchlib.Bench (setup_sql, compare, ...)

Files whose name starts with "_" are not scenarios.  Exit status 1 means the
run broke (an exception); a missed target is not a failure.
"""
import importlib.util
import sys
import traceback
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))

import benchlib  # noqa: E402


def load(path):
    spec = importlib.util.spec_from_file_location(f"scenario_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.NAME = path.stem
    return module


def scenarios():
    modules = [load(path) for path in (BENCH_DIR / "scenarios").glob("*.py") if not path.name.startswith("_")]
    return sorted(modules, key=lambda module: (getattr(module, "ORDER", 1000), module.NAME))


def find(name):
    for module in scenarios():
        if module.NAME == name:
            return module
    sys.exit(f"unknown scenario {name!r}; known: {' '.join(m.NAME for m in scenarios())}")


def main(argv):
    if len(argv) >= 1 and argv[0] == "list":
        for module in scenarios():
            print(module.NAME)
    elif len(argv) == 2 and argv[0] == "conf":
        print(" ".join(getattr(find(argv[1]), "CLUSTER_CONF", [])))
    elif len(argv) in (3, 4) and argv[0] == "run":
        module = find(argv[1])
        out = Path(argv[2])
        log_dir = Path(argv[3]) if len(argv) == 4 else out.parent / "logs"
        print(f"== {module.NAME}: {module.TITLE}", flush=True)
        bench = None
        try:
            bench = benchlib.Bench(module.NAME, module.TITLE, out, log_dir / module.NAME,
                                   getattr(module, "ORDER", 1000))
            module.run(bench)
        except Exception as error:
            traceback.print_exc()
            if bench is not None:  # keep the rows measured before the break
                bench.failure = f"{type(error).__name__}: {(str(error).strip().splitlines() or [''])[0]}"
                bench.save()
            return 1
        return 0
    else:
        sys.exit(__doc__)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
