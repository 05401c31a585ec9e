src/pg/log_guard.o: src/pg/log_guard.cpp src/pg/log_guard.h \
 src/pg/pg_includes.h
src/pg/log_guard.h:
src/pg/pg_includes.h:
