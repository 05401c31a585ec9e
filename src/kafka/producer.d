src/kafka/producer.o: src/kafka/producer.cpp \
 /work/main/src/kafka/producer.h /work/main/src/kafka/config_list.h \
 /work/main/src/kafka/log_buffer.h \
 /work/main/src/kafka/outgoing_message.h \
 /work/main/src/kafka/delivery_error.h
/work/main/src/kafka/producer.h:
/work/main/src/kafka/config_list.h:
/work/main/src/kafka/log_buffer.h:
/work/main/src/kafka/outgoing_message.h:
/work/main/src/kafka/delivery_error.h:
