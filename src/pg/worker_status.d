src/pg/worker_status.o: src/pg/worker_status.cpp src/pg/pg_includes.h \
 src/pg/gucs.h src/pg/shared_state.h src/pg/status_rows.h
src/pg/pg_includes.h:
src/pg/gucs.h:
src/pg/shared_state.h:
src/pg/status_rows.h:
