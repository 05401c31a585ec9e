src/pg/module.o: src/pg/module.cpp src/pg/pg_includes.h src/pg/gucs.h \
 src/pg/shared_state.h /work/main/src/worker/worker_registration.h
src/pg/pg_includes.h:
src/pg/gucs.h:
src/pg/shared_state.h:
/work/main/src/worker/worker_registration.h:
