/*
 * period_rule.cpp — see period_rule.h.
 */
#include "period_rule.h"

namespace eventstore {

PeriodVerdict classify_event_time(const PeriodRule &rule, int64_t event_time) noexcept
{
    /* Binary search for the last span starting at or before event_time. */
    int low = 0;
    int high = rule.span_count;
    while (low < high) {
        const int middle = low + (high - low) / 2;
        if (rule.spans[middle].start <= event_time)
            low = middle + 1;
        else
            high = middle;
    }
    if (low > 0) {
        const PeriodSpan &span = rule.spans[low - 1];
        if (event_time < span.end)
            return PeriodVerdict{span.state, true, span.start, span.end};
    }
    /*
     * An event at exactly closed_through belongs to the period that starts
     * there, which the horizon does not cover.
     */
    if (rule.has_horizon && event_time < rule.closed_through)
        return PeriodVerdict{PeriodState::closed, false, 0, 0};
    return PeriodVerdict{PeriodState::open, false, 0, 0};
}

const char *period_state_name(PeriodState state) noexcept
{
    switch (state) {
    case PeriodState::open:
        return "open";
    case PeriodState::soft_closed:
        return "soft_closed";
    case PeriodState::closed:
        return "closed";
    }
    return "open";
}

}  // namespace eventstore
