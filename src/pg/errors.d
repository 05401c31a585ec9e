src/pg/errors.o: src/pg/errors.cpp src/pg/errors.h src/pg/pg_includes.h
src/pg/errors.h:
src/pg/pg_includes.h:
