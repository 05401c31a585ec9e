src/worker/job_transaction.o: src/worker/job_transaction.cpp \
 /work/main/src/pg/pg_includes.h src/worker/job_transaction.h
/work/main/src/pg/pg_includes.h:
src/worker/job_transaction.h:
