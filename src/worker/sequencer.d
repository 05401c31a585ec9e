src/worker/sequencer.o: src/worker/sequencer.cpp src/worker/sequencer.h \
 /work/main/src/pg/pg_includes.h /work/main/src/pg/event_hashing.h \
 /work/main/src/pg/pg_includes.h /work/main/src/pg/spi_helpers.h
src/worker/sequencer.h:
/work/main/src/pg/pg_includes.h:
/work/main/src/pg/event_hashing.h:
/work/main/src/pg/pg_includes.h:
/work/main/src/pg/spi_helpers.h:
