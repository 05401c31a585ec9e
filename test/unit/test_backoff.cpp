/*
 * test_backoff.cpp — the retry schedule of the worker and the publisher.
 */
#include <gtest/gtest.h>

#include "core/backoff.h"

namespace eventstore {
namespace {

TEST(Backoff, StartsAt100msAndDoubles)
{
    EXPECT_EQ(next_backoff_ms(0), 100);
    EXPECT_EQ(next_backoff_ms(100), 200);
    EXPECT_EQ(next_backoff_ms(200), 400);
}

TEST(Backoff, NeverExceedsTenSeconds)
{
    long wait = 0;
    for (int failure = 0; failure < 100; ++failure)
        wait = next_backoff_ms(wait);
    EXPECT_EQ(wait, 10000);
    EXPECT_EQ(next_backoff_ms(6400), 10000);
    EXPECT_EQ(next_backoff_ms(10000), 10000);
}

}  // namespace
}  // namespace eventstore
