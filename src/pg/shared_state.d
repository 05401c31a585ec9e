src/pg/shared_state.o: src/pg/shared_state.cpp src/pg/shared_state.h \
 src/pg/pg_includes.h
src/pg/shared_state.h:
src/pg/pg_includes.h:
