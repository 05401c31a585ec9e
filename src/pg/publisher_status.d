src/pg/publisher_status.o: src/pg/publisher_status.cpp \
 src/pg/pg_includes.h src/pg/shared_state.h src/pg/status_rows.h
src/pg/pg_includes.h:
src/pg/shared_state.h:
src/pg/status_rows.h:
