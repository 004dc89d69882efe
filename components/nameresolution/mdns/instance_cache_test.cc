// Tests for the mDNS answer cache: TTLs and their cap, goodbyes, round robin, the refresh
// point, and the bound on instances. Time is passed in; nothing sleeps.
#include "components/nameresolution/mdns/instance_cache.h"

#include <gtest/gtest.h>

namespace dapr::nameresolution::mdns {
namespace {

using namespace std::chrono_literals;
using Clock = InstanceCache::Clock;

const Clock::time_point t0 = Clock::time_point() + 1000h;

Sighting Seen(const std::string& instance, const std::string& address, uint32_t ttl,
              const std::string& app = "cart") {
  return {app, instance, address, ttl};
}

TEST(InstanceCacheTest, RoundRobinInAddressOrder) {
  InstanceCache cache(120s);
  cache.Apply(Seen("b", "10.0.0.2:1", 120), t0);
  cache.Apply(Seen("a", "10.0.0.1:1", 120), t0);
  std::vector<std::string> picks;
  for (int i = 0; i < 4; ++i) picks.push_back(cache.Pick("cart", t0).value_or("none"));
  EXPECT_EQ(picks,
            (std::vector<std::string>{"10.0.0.1:1", "10.0.0.2:1", "10.0.0.1:1", "10.0.0.2:1"}));
}

TEST(InstanceCacheTest, AppIdsAndInstancesIgnoreCase) {
  InstanceCache cache(120s);
  cache.Apply(Seen("Box:1", "10.0.0.1:1", 120, "Cart"), t0);
  cache.Apply(Seen("box:1", "10.0.0.9:1", 120, "cart"), t0);  // the same instance, moved
  EXPECT_EQ(cache.Pick("CART", t0), "10.0.0.9:1");
  EXPECT_EQ(cache.Pick("cart", t0), "10.0.0.9:1");
}

TEST(InstanceCacheTest, InstancesExpireWithTheirTtl) {
  InstanceCache cache(120s);
  cache.Apply(Seen("a", "10.0.0.1:1", 10), t0);
  cache.Apply(Seen("b", "10.0.0.2:1", 60), t0);
  EXPECT_TRUE(cache.Has("cart", t0 + 9s));
  EXPECT_EQ(cache.Pick("cart", t0 + 10s), "10.0.0.2:1");
  EXPECT_EQ(cache.Pick("cart", t0 + 10s), "10.0.0.2:1");
  EXPECT_FALSE(cache.Pick("cart", t0 + 60s).has_value());
  EXPECT_FALSE(cache.Has("cart", t0 + 60s));
}

TEST(InstanceCacheTest, LongTtlsAreCapped) {
  InstanceCache cache(120s);
  cache.Apply(Seen("a", "10.0.0.1:1", 4500), t0);  // 75 minutes, as some stacks announce
  EXPECT_TRUE(cache.Has("cart", t0 + 119s));
  EXPECT_FALSE(cache.Has("cart", t0 + 120s));
}

TEST(InstanceCacheTest, AnswerRenewsTheInstance) {
  InstanceCache cache(120s);
  cache.Apply(Seen("a", "10.0.0.1:1", 10), t0);
  cache.Apply(Seen("a", "10.0.0.1:1", 10), t0 + 8s);
  EXPECT_TRUE(cache.Has("cart", t0 + 17s));
  EXPECT_FALSE(cache.Has("cart", t0 + 18s));
}

TEST(InstanceCacheTest, GoodbyeRemovesAtOnce) {
  InstanceCache cache(120s);
  cache.Apply(Seen("a", "10.0.0.1:1", 120), t0);
  cache.Apply(Seen("b", "10.0.0.2:1", 120), t0);
  cache.Apply(Seen("a", "", 0), t0 + 1s);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(cache.Pick("cart", t0 + 1s), "10.0.0.2:1");
  cache.Apply(Seen("b", "", 0), t0 + 1s);
  EXPECT_FALSE(cache.Has("cart", t0 + 1s));
  cache.Apply(Seen("zzz", "", 0, "unknown"), t0);  // a goodbye for nothing we hold
  EXPECT_FALSE(cache.Has("unknown", t0));
}

TEST(InstanceCacheTest, TwoInstancesAtOneAddressAreOneTarget) {
  InstanceCache cache(120s);
  cache.Apply(Seen("old", "10.0.0.1:1", 120), t0);
  cache.Apply(Seen("new", "10.0.0.1:1", 120), t0);
  cache.Apply(Seen("other", "10.0.0.2:1", 120), t0);
  std::vector<std::string> picks;
  for (int i = 0; i < 4; ++i) picks.push_back(*cache.Pick("cart", t0));
  EXPECT_EQ(picks,
            (std::vector<std::string>{"10.0.0.1:1", "10.0.0.2:1", "10.0.0.1:1", "10.0.0.2:1"}));
}

TEST(InstanceCacheTest, RefreshIsDueAtEightyPercentOfTheLifetime) {
  InstanceCache cache(120s);
  cache.Apply(Seen("a", "10.0.0.1:1", 100), t0);
  EXPECT_FALSE(cache.NeedsRefresh("cart", t0 + 79s));
  EXPECT_TRUE(cache.NeedsRefresh("cart", t0 + 80s));
  cache.Apply(Seen("a", "10.0.0.1:1", 100), t0 + 80s);
  EXPECT_FALSE(cache.NeedsRefresh("cart", t0 + 81s));
  EXPECT_FALSE(cache.NeedsRefresh("nobody", t0));
}

TEST(InstanceCacheTest, InstancesPerAppAreBounded) {
  InstanceCache cache(120s);
  for (size_t i = 0; i < InstanceCache::kMaxInstancesPerApp + 10; ++i) {
    cache.Apply(Seen("i" + std::to_string(i), "10.0.0.1:" + std::to_string(i + 1), 120), t0);
  }
  std::set<std::string> seen;
  for (size_t i = 0; i < 2 * InstanceCache::kMaxInstancesPerApp; ++i)
    seen.insert(*cache.Pick("cart", t0));
  EXPECT_EQ(seen.size(), InstanceCache::kMaxInstancesPerApp);
  // A known instance still updates when the app is full.
  cache.Apply(Seen("i0", "10.9.9.9:9", 120), t0);
  seen.clear();
  for (size_t i = 0; i < InstanceCache::kMaxInstancesPerApp; ++i)
    seen.insert(*cache.Pick("cart", t0));
  EXPECT_TRUE(seen.contains("10.9.9.9:9"));
}

TEST(InstanceCacheTest, SweepForgetsExpiredApps) {
  InstanceCache cache(120s);
  cache.Apply(Seen("a", "10.0.0.1:1", 10, "old"), t0);
  cache.Apply(Seen("b", "10.0.0.2:1", 100, "live"), t0);
  cache.Sweep(t0 + 50s);
  EXPECT_FALSE(cache.NeedsRefresh("old", t0 + 50s));  // gone, so nothing to refresh
  EXPECT_TRUE(cache.Has("live", t0 + 50s));
}

}  // namespace
}  // namespace dapr::nameresolution::mdns
