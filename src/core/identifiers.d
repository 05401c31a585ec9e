src/core/identifiers.o: src/core/identifiers.cpp src/core/identifiers.h \
 src/core/assert_no_postgres.h
src/core/identifiers.h:
src/core/assert_no_postgres.h:
