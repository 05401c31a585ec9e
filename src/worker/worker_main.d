src/worker/worker_main.o: src/worker/worker_main.cpp \
 /work/main/src/pg/pg_includes.h /work/main/src/pg/gucs.h \
 /work/main/src/pg/shared_state.h /work/main/src/pg/pg_includes.h \
 /work/main/src/core/backoff.h src/worker/job_transaction.h \
 src/worker/publisher.h src/worker/sequencer.h \
 src/worker/worker_registration.h
/work/main/src/pg/pg_includes.h:
/work/main/src/pg/gucs.h:
/work/main/src/pg/shared_state.h:
/work/main/src/pg/pg_includes.h:
/work/main/src/core/backoff.h:
src/worker/job_transaction.h:
src/worker/publisher.h:
src/worker/sequencer.h:
src/worker/worker_registration.h:
