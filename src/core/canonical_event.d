src/core/canonical_event.o: src/core/canonical_event.cpp \
 src/core/canonical_event.h src/core/sha256.h \
 src/core/assert_no_postgres.h
src/core/canonical_event.h:
src/core/sha256.h:
src/core/assert_no_postgres.h:
