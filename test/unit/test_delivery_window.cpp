/*
 * test_delivery_window.cpp — the publisher's at-least-once bookkeeping:
 * only the leading settled run is ever recorded as published, and a
 * retriable failure re-sends everything from the durable position.
 */
#include <gtest/gtest.h>

#include "core/delivery_window.h"

namespace eventstore {
namespace {

DeliveryWindow window_with_sent(int64_t durable, int64_t first, int64_t last)
{
    DeliveryWindow window;
    window.reset(durable);
    for (int64_t id = first; id <= last; ++id)
        window.sent(id);
    return window;
}

TEST(DeliveryWindow, OnlyTheLeadingSettledRunIsRecorded)
{
    DeliveryWindow window = window_with_sent(10, 11, 15);
    window.acknowledged(12);
    window.acknowledged(13);
    EXPECT_EQ(window.settled_prefix().count, 0u) << "11 is still outstanding";
    window.acknowledged(11);
    const SettledPrefix prefix = window.settled_prefix();
    EXPECT_EQ(prefix.count, 3u);
    EXPECT_EQ(prefix.last_id, 13);
    EXPECT_EQ(prefix.acknowledged_ids, (std::vector<int64_t>{11, 12, 13}));
    window.remove_prefix(prefix);
    EXPECT_EQ(window.durable_id(), 13);
    EXPECT_EQ(window.size(), 2u);
    EXPECT_EQ(window.outstanding(), 2u);
    EXPECT_EQ(window.last_sent_id(), 15);
}

TEST(DeliveryWindow, RefusedMessagesSettleAsDeadLetters)
{
    DeliveryWindow window = window_with_sent(0, 1, 3);
    window.acknowledged(1);
    window.refused(2, "MSG_SIZE_TOO_LARGE", "Message size too large");
    window.acknowledged(3);
    const SettledPrefix prefix = window.settled_prefix();
    ASSERT_EQ(prefix.count, 3u);
    ASSERT_EQ(prefix.dead_letters.size(), 1u);
    EXPECT_EQ(prefix.dead_letters[0].id, 2);
    EXPECT_EQ(prefix.dead_letters[0].error_code, "MSG_SIZE_TOO_LARGE");
    EXPECT_EQ(prefix.acknowledged_ids, (std::vector<int64_t>{1, 3}));
    EXPECT_FALSE(window.needs_rewind());
}

TEST(DeliveryWindow, RetriableFailureRewindsOnceNothingIsOutstanding)
{
    DeliveryWindow window = window_with_sent(100, 101, 104);
    window.acknowledged(101);
    window.failed_retriably(102);
    window.acknowledged(104);
    EXPECT_TRUE(window.needs_rewind());
    EXPECT_FALSE(window.rewind_if_settled()) << "103 is still outstanding";
    window.failed_retriably(103);

    /* The acknowledged head is still recorded before rewinding. */
    const SettledPrefix prefix = window.settled_prefix();
    EXPECT_EQ(prefix.count, 1u);
    window.remove_prefix(prefix);
    EXPECT_TRUE(window.rewind_if_settled());
    EXPECT_TRUE(window.empty());
    EXPECT_EQ(window.durable_id(), 101);
    EXPECT_EQ(window.last_sent_id(), 101) << "102..104 are sent again, 104 as a possible duplicate";
    window.sent(102);
    EXPECT_EQ(window.outstanding(), 1u);
}

TEST(DeliveryWindow, StaleAndRepeatedReportsAreIgnored)
{
    DeliveryWindow window = window_with_sent(0, 1, 2);
    window.acknowledged(99);   /* not in the window: a previous producer's report */
    window.acknowledged(1);
    window.acknowledged(1);    /* repeated */
    window.failed_retriably(1); /* already settled: does not rewind */
    EXPECT_EQ(window.outstanding(), 1u);
    EXPECT_FALSE(window.needs_rewind());
}

TEST(DeliveryWindow, IdsMustIncrease)
{
    DeliveryWindow window = window_with_sent(5, 6, 6);
    EXPECT_THROW(window.sent(6), std::logic_error);
    EXPECT_THROW(window.sent(3), std::logic_error);
}

TEST(DeliveryWindow, RemovingAStalePrefixIsRefused)
{
    DeliveryWindow window = window_with_sent(0, 1, 2);
    window.acknowledged(1);
    SettledPrefix prefix = window.settled_prefix();
    prefix.last_id = 2;
    EXPECT_THROW(window.remove_prefix(prefix), std::logic_error);
}

}  // namespace
}  // namespace eventstore
