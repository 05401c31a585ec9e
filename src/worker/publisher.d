src/worker/publisher.o: src/worker/publisher.cpp \
 /work/main/src/pg/pg_includes.h src/worker/publisher.h \
 /work/main/src/core/backoff.h /work/main/src/core/delivery_window.h \
 src/worker/job_transaction.h /work/main/src/kafka/config_list.h \
 /work/main/src/kafka/producer.h /work/main/src/kafka/log_buffer.h \
 /work/main/src/kafka/outgoing_message.h /work/main/src/pg/gucs.h \
 /work/main/src/pg/shared_state.h /work/main/src/pg/pg_includes.h \
 src/worker/publisher_queries.h
/work/main/src/pg/pg_includes.h:
src/worker/publisher.h:
/work/main/src/core/backoff.h:
/work/main/src/core/delivery_window.h:
src/worker/job_transaction.h:
/work/main/src/kafka/config_list.h:
/work/main/src/kafka/producer.h:
/work/main/src/kafka/log_buffer.h:
/work/main/src/kafka/outgoing_message.h:
/work/main/src/pg/gucs.h:
/work/main/src/pg/shared_state.h:
/work/main/src/pg/pg_includes.h:
src/worker/publisher_queries.h:
