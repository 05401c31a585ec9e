// Unit tests for the append path's period decision (src/core/period_rule).
#include <gtest/gtest.h>

#include "core/period_rule.h"

namespace eventstore {
namespace {

constexpr int64_t kDay = 86400LL * 1000000LL;

TEST(PeriodRule, NoHorizonNoSpansIsOpen)
{
    const PeriodRule rule{false, 0, nullptr, 0};
    EXPECT_EQ(classify_event_time(rule, -100 * kDay).state, PeriodState::open);
    EXPECT_EQ(classify_event_time(rule, 100 * kDay).state, PeriodState::open);
}

TEST(PeriodRule, BeforeTheHorizonIsClosedAtItIsOpen)
{
    const PeriodRule rule{true, 10 * kDay, nullptr, 0};
    EXPECT_EQ(classify_event_time(rule, 10 * kDay - 1).state, PeriodState::closed);
    EXPECT_FALSE(classify_event_time(rule, 10 * kDay - 1).span_known);
    EXPECT_EQ(classify_event_time(rule, 10 * kDay).state, PeriodState::open);
}

TEST(PeriodRule, SpansOverrideTheHorizonBothWays)
{
    const PeriodSpan spans[] = {
        {2 * kDay, 3 * kDay, PeriodState::open},          // reopened, before the horizon
        {10 * kDay, 11 * kDay, PeriodState::soft_closed}, // soft-closed by the clock
        {12 * kDay, 13 * kDay, PeriodState::closed},      // closed early
    };
    const PeriodRule rule{true, 10 * kDay, spans, 3};
    EXPECT_EQ(classify_event_time(rule, 1 * kDay).state, PeriodState::closed);
    const PeriodVerdict reopened = classify_event_time(rule, 2 * kDay + 5);
    EXPECT_EQ(reopened.state, PeriodState::open);
    EXPECT_TRUE(reopened.span_known);
    EXPECT_EQ(reopened.period_start, 2 * kDay);
    EXPECT_EQ(classify_event_time(rule, 3 * kDay).state, PeriodState::closed);
    const PeriodVerdict soft = classify_event_time(rule, 11 * kDay - 1);
    EXPECT_EQ(soft.state, PeriodState::soft_closed);
    EXPECT_EQ(soft.period_end, 11 * kDay);
    EXPECT_EQ(classify_event_time(rule, 11 * kDay).state, PeriodState::open);
    EXPECT_EQ(classify_event_time(rule, 12 * kDay).state, PeriodState::closed);
    EXPECT_EQ(classify_event_time(rule, 13 * kDay).state, PeriodState::open);
}

TEST(PeriodRule, ManySpansAreSearchedNotScanned)
{
    PeriodSpan spans[1000];
    for (int i = 0; i < 1000; i++)
        spans[i] = PeriodSpan{2 * i * kDay, (2 * i + 1) * kDay, PeriodState::closed};
    const PeriodRule rule{false, 0, spans, 1000};
    for (int i = 0; i < 1000; i++) {
        EXPECT_EQ(classify_event_time(rule, 2 * i * kDay).state, PeriodState::closed);
        EXPECT_EQ(classify_event_time(rule, (2 * i + 1) * kDay).state, PeriodState::open);
    }
}

TEST(PeriodRule, StateNames)
{
    EXPECT_STREQ(period_state_name(PeriodState::open), "open");
    EXPECT_STREQ(period_state_name(PeriodState::soft_closed), "soft_closed");
    EXPECT_STREQ(period_state_name(PeriodState::closed), "closed");
}

}  // namespace
}  // namespace eventstore
