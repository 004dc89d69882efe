// nameresolution.mdns: sidecars on one network link find each other with multicast DNS
// (RFC 6762, DNS-SD names as Dapr's mDNS resolver uses them: see service_records.h), with
// no registry and no configuration. Each sidecar announces its app id with the IPv4
// addresses of the interfaces it multicasts on (never loopback, which other hosts cannot
// reach) and its internal gRPC port, answers queries for it, and says goodbye on Close.
//
// Resolve answers from a cache of what was heard; on a miss it multicasts a query and waits
// for the first answer (at most 1 s). Every sidecar hears every answer, so the
// other instances of the app land in the cache within ~120 ms and calls rotate over them.
// Answers are trusted for their TTL, at most 120 s, and asked again at 80% of it.
//
// Not done: probing for and resolving name conflicts (instance names carry the pid), known-
// answer suppression, IPv6, legacy unicast queries, namespaces (ignored, as Dapr does), and
// interfaces that appear after Init.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <thread>

#include "components/nameresolution/mdns/instance_cache.h"
#include "components/nameresolution/mdns/service_records.h"
#include "components/nameresolution/mdns/transport.h"
#include "dapr/nameresolution/resolver.h"

namespace dapr::nameresolution {

class MdnsResolver final : public Resolver {
 public:
  using Clock = std::chrono::steady_clock;
  using TransportFactory = std::function<Result<std::unique_ptr<mdns::Transport>>()>;

  // Timings and identity; the defaults are what daprd uses, tests shorten them.
  struct Options {
    std::chrono::milliseconds resolve_timeout{1000};  // longest wait for a first answer
    std::chrono::milliseconds query_retry{300};       // a lost query is asked again after this
    std::chrono::milliseconds announce_gap{1000};     // between the two announcements (§8.3)
    std::chrono::milliseconds answer_delay_min{20};   // shared answers wait 20-120 ms (§6)
    std::chrono::milliseconds answer_delay_max{120};
    std::chrono::seconds record_ttl{120};  // TTL we announce, and the most we trust (§10)
    std::string hostname;                  // empty: gethostname()
    int64_t pid = 0;                       // 0: the registration's pid
  };

  MdnsResolver();  // the multicast socket (socket_transport.h)
  MdnsResolver(TransportFactory transport, Options options);
  ~MdnsResolver() override;

  Status Init(const ComponentMetadata& metadata, const Registration& self) override;
  Result<std::string> Resolve(const ResolveRequest& request) override;
  void Close() override;

 private:
  struct PendingAnswer {
    Clock::time_point due;
    std::vector<uint8_t> bytes;
  };

  // The responder thread and what it does; all but Serve run with mutex_ held.
  void Serve();
  void Handle(const mdns::Transport::Packet& packet, Clock::time_point now);
  void ScheduleAnswer(const mdns::Message& query, int interface_index, Clock::time_point now);
  void SendDue(Clock::time_point now);
  std::optional<std::chrono::milliseconds> UntilNextDue(Clock::time_point now) const;

  void Announce(uint32_t ttl);
  void QueryIfDue(const std::string& app_key, Clock::time_point now);
  Result<std::string> AwaitAnswer(std::unique_lock<std::mutex>& lock, const std::string& app_id);

  TransportFactory make_transport_;
  Options options_;
  std::unique_ptr<mdns::Transport> transport_;
  mdns::Identity identity_;

  std::mutex mutex_;
  std::condition_variable answered_;
  bool open_ = false;
  mdns::InstanceCache cache_;
  // App ids this sidecar asked for (lower case) and when it last queried each: only these
  // are cached, so a busy network cannot fill our memory with apps nobody here calls.
  std::map<std::string, Clock::time_point> asked_;
  std::map<int, PendingAnswer> answers_due_;  // by interface
  std::optional<Clock::time_point> announce_due_;
  Clock::time_point next_sweep_;
  std::minstd_rand random_;
  std::thread responder_;
};

}  // namespace dapr::nameresolution
