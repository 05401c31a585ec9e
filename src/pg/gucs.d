src/pg/gucs.o: src/pg/gucs.cpp src/pg/gucs.h \
 /work/main/src/kafka/config_list.h src/pg/pg_includes.h
src/pg/gucs.h:
/work/main/src/kafka/config_list.h:
src/pg/pg_includes.h:
