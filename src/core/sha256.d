src/core/sha256.o: src/core/sha256.cpp src/core/sha256.h \
 src/core/assert_no_postgres.h
src/core/sha256.h:
src/core/assert_no_postgres.h:
