// What a sidecar has learnt about other apps' instances from mDNS answers: each instance's
// address until its TTL runs out, and a round-robin cursor per app. Time is passed in, so
// expiry and refresh are tested without sleeping.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "components/nameresolution/mdns/service_records.h"

namespace dapr::nameresolution::mdns {

class InstanceCache {
 public:
  using Clock = std::chrono::steady_clock;
  // A hostile or broken responder must not grow the cache without bound.
  static constexpr size_t kMaxInstancesPerApp = 256;

  // max_lifetime caps every TTL: a peer that died without a goodbye is dropped this long
  // after its last answer at the latest, however long a TTL it announced.
  explicit InstanceCache(std::chrono::seconds max_lifetime) : max_lifetime_(max_lifetime) {}

  // Records a sighting; a goodbye (ttl 0) removes the instance at once.
  void Apply(const Sighting& seen, Clock::time_point now);

  // The next live address of the app, rotating over its instances in address order.
  std::optional<std::string> Pick(const std::string& app_id, Clock::time_point now);

  bool Has(const std::string& app_id, Clock::time_point now);

  // True once an instance has lived 80% of its lifetime (RFC 6762 §5.2): time to ask again,
  // so that live instances are refreshed before they expire.
  bool NeedsRefresh(const std::string& app_id, Clock::time_point now) const;

  // Forgets expired instances and apps left with none.
  void Sweep(Clock::time_point now);

 private:
  struct Entry {
    std::string address;
    Clock::time_point seen;
    Clock::time_point expires;
  };
  struct App {
    std::map<std::string, Entry> instances;  // by lower-case instance name
    uint64_t next = 0;
  };
  App* Live(const std::string& app_id, Clock::time_point now);

  std::chrono::seconds max_lifetime_;
  std::map<std::string, App> apps_;  // by lower-case app id
};

// ASCII lower case: DNS names compare without case.
std::string LowerAscii(std::string text);

}  // namespace dapr::nameresolution::mdns
