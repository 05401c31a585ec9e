/*
 * backoff.cpp — the shared retry schedule (see the header).
 */
#include "core/backoff.h"

namespace eventstore {

long next_backoff_ms(long current_ms)
{
    if (current_ms <= 0)
        return kFirstBackoffMs;
    return current_ms >= kMaxBackoffMs / 2 ? kMaxBackoffMs : current_ms * 2;
}

}  // namespace eventstore
