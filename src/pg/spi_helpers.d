src/pg/spi_helpers.o: src/pg/spi_helpers.cpp src/pg/spi_helpers.h \
 src/pg/pg_includes.h
src/pg/spi_helpers.h:
src/pg/pg_includes.h:
