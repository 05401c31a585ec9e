src/core/ledger.o: src/core/ledger.cpp src/core/ledger.h \
 src/core/sha256.h src/core/assert_no_postgres.h
src/core/ledger.h:
src/core/sha256.h:
src/core/assert_no_postgres.h:
