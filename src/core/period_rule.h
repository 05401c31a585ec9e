/*
 * period_rule.h — which accounting period state an event time falls in, as
 * the append path decides it (docs/periods.md).
 *
 * A category with a period policy has a horizon, closed_through: every
 * period that ends at or before it is closed, unless a row of its own says
 * otherwise (a reopened period).  Later periods are open unless they have a
 * row (soft-closed by the clock, closed early by an admin).  The append path
 * keeps, per category, the horizon and only the rows that say something the
 * horizon does not: rows that are not closed, and rows after the horizon.
 * Deciding is then a few comparisons per event, with no period arithmetic
 * and no time zones: the boundaries were computed in SQL when the rows were
 * written.
 *
 * Times are PostgreSQL timestamptz values (microseconds since 2000-01-01
 * UTC) carried as plain integers, so this stays free of PostgreSQL.
 */
#ifndef EVENTSTORE_CORE_PERIOD_RULE_H
#define EVENTSTORE_CORE_PERIOD_RULE_H

#include <cstdint>

namespace eventstore {

enum class PeriodState { open, soft_closed, closed };

/* One period whose state the horizon does not tell: [start, end). */
struct PeriodSpan {
    int64_t start;
    int64_t end;
    PeriodState state;
};

/* A category's rule: spans sorted by start, not overlapping. */
struct PeriodRule {
    bool has_horizon;       /* false: no period closed before the policy */
    int64_t closed_through; /* periods ending at or before this are closed */
    const PeriodSpan *spans;
    int span_count;
};

struct PeriodVerdict {
    PeriodState state;
    bool span_known;    /* true: period_start/end below are the period's */
    int64_t period_start;
    int64_t period_end;
};

/* The state of the period that holds event_time. */
PeriodVerdict classify_event_time(const PeriodRule &rule, int64_t event_time) noexcept;

/* "open", "soft_closed", "closed". */
const char *period_state_name(PeriodState state) noexcept;

}  // namespace eventstore

#endif
