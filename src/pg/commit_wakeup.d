src/pg/commit_wakeup.o: src/pg/commit_wakeup.cpp src/pg/commit_wakeup.h \
 src/pg/pg_includes.h src/pg/shared_state.h
src/pg/commit_wakeup.h:
src/pg/pg_includes.h:
src/pg/shared_state.h:
