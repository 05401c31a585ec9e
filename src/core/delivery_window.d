src/core/delivery_window.o: src/core/delivery_window.cpp \
 /work/main/src/core/delivery_window.h
/work/main/src/core/delivery_window.h:
