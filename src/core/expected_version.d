src/core/expected_version.o: src/core/expected_version.cpp \
 src/core/expected_version.h src/core/assert_no_postgres.h
src/core/expected_version.h:
src/core/assert_no_postgres.h:
