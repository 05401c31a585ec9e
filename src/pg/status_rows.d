src/pg/status_rows.o: src/pg/status_rows.cpp src/pg/status_rows.h \
 src/pg/pg_includes.h
src/pg/status_rows.h:
src/pg/pg_includes.h:
