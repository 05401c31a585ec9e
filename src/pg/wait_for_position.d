src/pg/wait_for_position.o: src/pg/wait_for_position.cpp \
 src/pg/pg_includes.h src/pg/shared_state.h
src/pg/pg_includes.h:
src/pg/shared_state.h:
