src/pg/event_hashing.o: src/pg/event_hashing.cpp src/pg/event_hashing.h \
 src/pg/pg_includes.h /work/main/src/core/canonical_event.h \
 /work/main/src/core/sha256.h /work/main/src/core/ledger.h \
 src/pg/errors.h
src/pg/event_hashing.h:
src/pg/pg_includes.h:
/work/main/src/core/canonical_event.h:
/work/main/src/core/sha256.h:
/work/main/src/core/ledger.h:
src/pg/errors.h:
