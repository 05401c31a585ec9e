# pg_eventstore — PGXS build plus the project's entry points.
#
#   make            build the extension (C++17)
#   make install    install it into the PostgreSQL found by pg_config
#   make test       install dependencies, build, run every test suite
#   make demo       run the banking scenario on a throwaway cluster
#   make bench      run the benchmarks against their baselines
#
# Tests and the demo run PostgreSQL as the unprivileged `postgres` user, so
# every target works when invoked as root (as CI does).

EXTENSION   = pg_eventstore
MODULE_big  = pg_eventstore
DATA        = $(wildcard sql/pg_eventstore--*.sql)
PGFILEDESC  = "pg_eventstore - event store inside PostgreSQL"

CORE_SOURCES   = $(wildcard src/core/*.cpp)
PG_SOURCES     = $(wildcard src/pg/*.cpp)
WORKER_SOURCES = $(wildcard src/worker/*.cpp)
KAFKA_SOURCES  = $(wildcard src/kafka/*.cpp)
OBJS = src/module.o $(CORE_SOURCES:.cpp=.o) $(KAFKA_SOURCES:.cpp=.o) $(PG_SOURCES:.cpp=.o) $(WORKER_SOURCES:.cpp=.o)

# pg_regress suites in PGXS's layout: sql/NAME.sql, expected/NAME.out, run in
# regress_schedule's order.  `make installcheck` runs them against a server
# that preloads pg_eventstore with pg_eventstore.database = 'eventstore_regress'
# (the worker sequences only that database, so the suites run there);
# `make installcheck
# REGRESS="setup append"` runs one file after the setup it needs.
REGRESS      = $(shell sed -e 's/\#.*//' $(CURDIR)/regress_schedule)

PG_CONFIG ?= pg_config
WERROR    ?=
# -MMD -MP: each object also writes its header dependencies (a .d file,
# included below), so changing a header rebuilds every file that uses it.
PG_CXXFLAGS = -std=c++17 -Wall -Wextra $(WERROR) -MMD -MP
# PostgreSQL's headers as system headers: their own warnings (C idioms that
# C++17 flags) are not ours to fix; our code is still built with -Wall -Wextra.
PG_CPPFLAGS = -I$(CURDIR)/src -isystem $(shell $(PG_CONFIG) --includedir-server)
SHLIB_LINK  = -lstdc++ -lcrypto -lrdkafka

# No LLVM bitcode: the JIT gains nothing here and clang++ may be absent.
override with_llvm = no

PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# After PGXS, which sets its own default (contrib_regression).  The database
# is used as it is (--use-existing): the worker's jobs stay connected to it,
# so pg_regress could not drop and create it.  Create it, without the
# extension, before `make installcheck`.
CONTRIB_TESTDB = eventstore_regress
REGRESS_OPTS += --use-existing

-include $(OBJS:.o=.d)
EXTRA_CLEAN = $(OBJS:.o=.d)

# pg_eventstore_verify, the offline verifier (tools/verify/, docs in
# main.cpp): a plain program beside the module, so `make` builds it and
# `make install` puts it in pg_config --bindir.  PGXS allows one of
# MODULE_big and PROGRAM, hence these rules of our own.  Its objects are
# compiled by PGXS's %.o rule with the module's flags (-MMD included), and
# it links the core objects the module already has: -fPIC code links into
# a program as well.  These rules come after the PGXS include so that
# `all` stays PGXS's first, default target.
VERIFY_OBJS      = $(patsubst %.cpp,%.o,$(wildcard tools/verify/*.cpp))
VERIFY_CORE_OBJS = src/core/sha256.o src/core/canonical_event.o src/core/ledger.o src/core/merkle.o \
                   src/core/checkpoint.o

all: tools/pg_eventstore_verify
tools/pg_eventstore_verify: $(VERIFY_OBJS) $(VERIFY_CORE_OBJS)
	$(CXX) $(CXXFLAGS) $(LDFLAGS) -pthread -o $@ $^ -lcrypto

.PHONY: install-verifier uninstall-verifier
install: install-verifier
install-verifier: tools/pg_eventstore_verify
	$(MKDIR_P) '$(DESTDIR)$(bindir)'
	$(INSTALL_PROGRAM) tools/pg_eventstore_verify '$(DESTDIR)$(bindir)/pg_eventstore_verify'
uninstall: uninstall-verifier
uninstall-verifier:
	rm -f '$(DESTDIR)$(bindir)/pg_eventstore_verify'

-include $(VERIFY_OBJS:.o=.d)
EXTRA_CLEAN += tools/pg_eventstore_verify $(VERIFY_OBJS) $(VERIFY_OBJS:.o=.d)

.PHONY: test demo bench setup unit
setup:
	bash scripts/setup.sh
test:
	bash scripts/test.sh
demo:
	bash scripts/demo.sh
bench:
	bash scripts/bench.sh
unit:
	bash scripts/unit.sh
