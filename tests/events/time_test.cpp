// RFC 3339 formatting and parsing (events/time.hpp): the only time text on the wire.
#include <random>

#include <gtest/gtest.h>

#include "events/time.hpp"

namespace flashsale {
namespace {

TEST(Time, FormatsEpochAndKnownInstants) {
  EXPECT_EQ(format_rfc3339(0), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(format_rfc3339(1'795'255'200'123), "2026-11-21T10:00:00.123Z");
  EXPECT_EQ(format_rfc3339(-1), "1969-12-31T23:59:59.999Z");
}

TEST(Time, ParsesWhatItFormats) {
  EXPECT_EQ(parse_rfc3339("2026-11-21T10:00:00.123Z"), 1'795'255'200'123);
  EXPECT_EQ(parse_rfc3339("1970-01-01T00:00:00Z"), 0);
}

TEST(Time, RoundTripsRandomInstants) {
  const auto seed = std::random_device{}();
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<timestamp_ms> dist(-2'000'000'000'000, 7'000'000'000'000);
  for (int i = 0; i < 10'000; ++i) {
    timestamp_ms t = dist(rng);
    ASSERT_EQ(parse_rfc3339(format_rfc3339(t)), t) << "seed " << seed << " t " << t;
  }
}

TEST(Time, HandlesLeapYears) {
  EXPECT_TRUE(parse_rfc3339("2024-02-29T00:00:00Z"));
  EXPECT_TRUE(parse_rfc3339("2000-02-29T00:00:00Z"));  // divisible by 400
  EXPECT_FALSE(parse_rfc3339("1900-02-29T00:00:00Z")); // divisible by 100 only
  EXPECT_FALSE(parse_rfc3339("2026-02-29T00:00:00Z"));
  EXPECT_EQ(format_rfc3339(*parse_rfc3339("2024-02-29T12:34:56.789Z")), "2024-02-29T12:34:56.789Z");
  EXPECT_EQ(*parse_rfc3339("2024-03-01T00:00:00Z") - *parse_rfc3339("2024-02-28T00:00:00Z"),
            2 * 86'400'000);
}

TEST(Time, AppliesOffsets) {
  EXPECT_EQ(parse_rfc3339("2026-11-21T12:00:00.000+02:00"), parse_rfc3339("2026-11-21T10:00:00Z"));
  EXPECT_EQ(parse_rfc3339("2026-11-21T05:30:00-04:30"), parse_rfc3339("2026-11-21T10:00:00Z"));
  EXPECT_EQ(parse_rfc3339("2026-01-01T00:30:00+01:00"), parse_rfc3339("2025-12-31T23:30:00Z"));
}

TEST(Time, TruncatesFractionsBeyondMilliseconds) {
  EXPECT_EQ(parse_rfc3339("1970-01-01T00:00:01.5Z"), 1'500);
  EXPECT_EQ(parse_rfc3339("1970-01-01T00:00:01.123999Z"), 1'123);
}

TEST(Time, RejectsJunk) {
  for (const char* junk : {"", "now", "2026-11-21", "2026-11-21T10:00:00", "2026-11-21 10:00:00Z",
                           "2026-13-01T00:00:00Z", "2026-04-31T00:00:00Z", "2026-11-21T24:00:00Z",
                           "2026-11-21T10:60:00Z", "2026-11-21T10:00:60Z", "2026-11-21T10:00:00.Z",
                           "2026-11-21T10:00:00+0200", "2026-11-21T10:00:00Zjunk",
                           "26-11-21T10:00:00Z", "2026-1-21T10:00:00Z"})
    EXPECT_EQ(parse_rfc3339(junk), std::nullopt) << junk;
}

} // namespace
} // namespace flashsale
