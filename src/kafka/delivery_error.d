src/kafka/delivery_error.o: src/kafka/delivery_error.cpp \
 /work/main/src/kafka/delivery_error.h \
 /work/main/src/kafka/outgoing_message.h
/work/main/src/kafka/delivery_error.h:
/work/main/src/kafka/outgoing_message.h:
