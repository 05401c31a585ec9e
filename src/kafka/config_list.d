src/kafka/config_list.o: src/kafka/config_list.cpp \
 /work/main/src/kafka/config_list.h
/work/main/src/kafka/config_list.h:
