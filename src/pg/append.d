src/pg/append.o: src/pg/append.cpp src/pg/pg_includes.h \
 src/pg/commit_wakeup.h /work/main/src/core/expected_version.h \
 /work/main/src/core/identifiers.h src/pg/errors.h src/pg/event_hashing.h \
 src/pg/gucs.h src/pg/log_guard.h src/pg/spi_helpers.h \
 /usr/include/postgresql/internal/port.h
src/pg/pg_includes.h:
src/pg/commit_wakeup.h:
/work/main/src/core/expected_version.h:
/work/main/src/core/identifiers.h:
src/pg/errors.h:
src/pg/event_hashing.h:
src/pg/gucs.h:
src/pg/log_guard.h:
src/pg/spi_helpers.h:
/usr/include/postgresql/internal/port.h:
