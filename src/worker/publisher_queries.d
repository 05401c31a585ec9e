src/worker/publisher_queries.o: src/worker/publisher_queries.cpp \
 src/worker/publisher_queries.h /work/main/src/pg/pg_includes.h \
 /work/main/src/core/delivery_window.h \
 /work/main/src/kafka/outgoing_message.h /work/main/src/pg/spi_helpers.h \
 /work/main/src/pg/pg_includes.h
src/worker/publisher_queries.h:
/work/main/src/pg/pg_includes.h:
/work/main/src/core/delivery_window.h:
/work/main/src/kafka/outgoing_message.h:
/work/main/src/pg/spi_helpers.h:
/work/main/src/pg/pg_includes.h:
