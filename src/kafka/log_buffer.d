src/kafka/log_buffer.o: src/kafka/log_buffer.cpp \
 /work/main/src/kafka/log_buffer.h
/work/main/src/kafka/log_buffer.h:
