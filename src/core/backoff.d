src/core/backoff.o: src/core/backoff.cpp /work/main/src/core/backoff.h
/work/main/src/core/backoff.h:
