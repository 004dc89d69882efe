// nameresolution.mdns: the responder thread, announcements and Resolve; see mdns_resolver.h.
#include "components/nameresolution/mdns/mdns_resolver.h"

#include <unistd.h>

#include <algorithm>

#include "components/nameresolution/mdns/socket_transport.h"

namespace dapr::nameresolution {
namespace {

using namespace std::chrono_literals;
using mdns::LowerAscii;

constexpr size_t kMaxLabel = 63;
constexpr auto kSweepEvery = 60s;

std::string Hostname() {
  char name[256] = {};
  if (gethostname(name, sizeof(name) - 1) != 0) return "localhost";
  return name;
}

Status ValidateRegistration(const Registration& self) {
  if (self.app_id.empty()) return InvalidArgument("nameresolution.mdns: app id is missing");
  if (self.app_id.size() > kMaxLabel) {
    return InvalidArgument("nameresolution.mdns: app id \"" + self.app_id +
                           "\" is longer than a DNS label (63 bytes)");
  }
  if (self.dapr_internal_grpc_port == 0) {
    return InvalidArgument("nameresolution.mdns: internal gRPC port is missing");
  }
  return Status::Ok();
}

}  // namespace

MdnsResolver::MdnsResolver() : MdnsResolver(&mdns::SocketTransport::Open, Options{}) {}

MdnsResolver::MdnsResolver(TransportFactory transport, Options options)
    : make_transport_(std::move(transport)),
      options_(std::move(options)),
      cache_(options_.record_ttl),
      random_(std::random_device{}()) {}

MdnsResolver::~MdnsResolver() { Close(); }

Status MdnsResolver::Init(const ComponentMetadata& metadata, const Registration& self) {
  Status valid = ValidateRegistration(self);
  if (!valid.ok()) return valid;
  std::string hostname = options_.hostname.empty() ? Hostname() : options_.hostname;
  int64_t pid = options_.pid != 0 ? options_.pid : (self.pid != 0 ? self.pid : getpid());
  identity_ = mdns::MakeIdentity(self.app_id, self.dapr_internal_grpc_port, hostname, pid);
  auto transport = make_transport_();
  if (!transport.ok()) return transport.error();
  transport_ = std::move(transport).value();
  if (transport_->Interfaces().empty()) {
    transport_.reset();
    return Unavailable("nameresolution.mdns: no interface to multicast on");
  }
  {
    std::lock_guard lock(mutex_);
    open_ = true;
    next_sweep_ = Clock::now() + kSweepEvery;
    // RFC 6762 §8.3: announce twice, a second apart, in case the first is lost.
    announce_due_ = Clock::now() + options_.announce_gap;
  }
  Announce(static_cast<uint32_t>(options_.record_ttl.count()));
  responder_ = std::thread([this] { Serve(); });
  return Status::Ok();
}

// Our records on each interface, with that interface's own addresses.
void MdnsResolver::Announce(uint32_t ttl) {
  for (const mdns::LinkInterface& link : transport_->Interfaces()) {
    auto bytes = mdns::Encode(mdns::Announcement(identity_, link.ipv4, ttl));
    if (bytes.ok()) transport_->Send(link.index, *bytes);  // a lost one is announced again
  }
}

void MdnsResolver::Serve() {
  std::unique_lock lock(mutex_);
  while (open_) {
    auto timeout = UntilNextDue(Clock::now());
    lock.unlock();
    auto packet = transport_->Receive(timeout);
    lock.lock();
    if (!open_) break;
    Clock::time_point now = Clock::now();
    if (packet) Handle(*packet, now);
    SendDue(now);
  }
}

void MdnsResolver::Handle(const mdns::Transport::Packet& packet, Clock::time_point now) {
  auto message = mdns::Decode(packet.bytes);
  if (!message.ok()) return;  // the network may send anything; drop what we cannot read
  if (!message->IsResponse()) return ScheduleAnswer(*message, packet.interface_index, now);
  bool learnt = false;
  for (const mdns::Sighting& seen : mdns::SightingsIn(*message)) {
    if (!asked_.contains(LowerAscii(seen.app_id))) continue;
    cache_.Apply(seen, now);
    learnt = true;
  }
  if (learnt) answered_.notify_all();
  if (now >= next_sweep_) {
    cache_.Sweep(now);
    // Ids not asked for in two TTLs have nothing cached left; apps may ask for any id.
    std::erase_if(asked_,
                  [&](const auto& item) { return now - item.second > 2 * options_.record_ttl; });
    next_sweep_ = now + kSweepEvery;
  }
}

// Shared records are answered after a random 20-120 ms (RFC 6762 §6), so that the answers
// of many instances do not collide; queries arriving meanwhile share the one answer.
void MdnsResolver::ScheduleAnswer(const mdns::Message& query, int interface_index,
                                  Clock::time_point now) {
  if (answers_due_.contains(interface_index)) return;
  const mdns::LinkInterface* link = nullptr;
  for (const mdns::LinkInterface& candidate : transport_->Interfaces()) {
    if (candidate.index == interface_index) link = &candidate;
  }
  if (!link) return;
  auto answer = mdns::AnswerTo(query, identity_, link->ipv4,
                               static_cast<uint32_t>(options_.record_ttl.count()));
  if (!answer) return;
  auto bytes = mdns::Encode(*answer);
  if (!bytes.ok()) return;
  std::uniform_int_distribution<int64_t> delay(options_.answer_delay_min.count(),
                                               options_.answer_delay_max.count());
  answers_due_[interface_index] = {now + std::chrono::milliseconds(delay(random_)),
                                   std::move(bytes).value()};
}

void MdnsResolver::SendDue(Clock::time_point now) {
  for (auto it = answers_due_.begin(); it != answers_due_.end();) {
    if (it->second.due > now) {
      ++it;
      continue;
    }
    transport_->Send(it->first, it->second.bytes);
    it = answers_due_.erase(it);
  }
  if (announce_due_ && *announce_due_ <= now) {
    announce_due_.reset();
    Announce(static_cast<uint32_t>(options_.record_ttl.count()));
  }
}

std::optional<std::chrono::milliseconds> MdnsResolver::UntilNextDue(Clock::time_point now) const {
  std::optional<Clock::time_point> next = announce_due_;
  for (const auto& [index, answer] : answers_due_) {
    if (!next || answer.due < *next) next = answer.due;
  }
  if (!next) return std::nullopt;  // nothing to do until a packet comes
  // Rounded up: waking a little early would only mean another short wait.
  auto left = std::chrono::ceil<std::chrono::milliseconds>(*next - now);
  return std::max(left, std::chrono::milliseconds(0));
}

// At most one query per app per query_retry, however many callers wait for it.
void MdnsResolver::QueryIfDue(const std::string& app_key, Clock::time_point now) {
  auto last = asked_.find(app_key);
  if (last != asked_.end() && now - last->second < options_.query_retry) return;
  asked_[app_key] = now;
  auto bytes = mdns::Encode(mdns::Query(app_key));
  if (!bytes.ok()) return;
  for (const mdns::LinkInterface& link : transport_->Interfaces()) {
    transport_->Send(link.index, *bytes);
  }
}

Result<std::string> MdnsResolver::Resolve(const ResolveRequest& request) {
  if (request.app_id.empty() || request.app_id.size() > kMaxLabel) {
    return NotFound("no host found for app id \"" + request.app_id + "\"");
  }
  std::string key = LowerAscii(request.app_id);
  std::unique_lock lock(mutex_);
  if (!open_) return Unavailable("nameresolution.mdns: resolver is closed");
  Clock::time_point now = Clock::now();
  if (auto address = cache_.Pick(key, now)) {
    if (cache_.NeedsRefresh(key, now)) QueryIfDue(key, now);
    return *address;
  }
  return AwaitAnswer(lock, request.app_id);
}

// Queries, asks again every query_retry in case a packet was lost, and returns the first
// instance that answers.
Result<std::string> MdnsResolver::AwaitAnswer(std::unique_lock<std::mutex>& lock,
                                              const std::string& app_id) {
  std::string key = LowerAscii(app_id);
  Clock::time_point deadline = Clock::now() + options_.resolve_timeout;
  for (;;) {
    Clock::time_point now = Clock::now();
    QueryIfDue(key, now);
    Clock::time_point wake = std::min(deadline, now + options_.query_retry);
    answered_.wait_until(lock, wake, [&] { return !open_ || cache_.Has(key, Clock::now()); });
    if (!open_) return Unavailable("nameresolution.mdns: resolver is closed");
    if (auto address = cache_.Pick(key, Clock::now())) return *address;
    if (Clock::now() >= deadline) {
      return NotFound("no host found for app id \"" + app_id + "\": no mDNS answer within " +
                      std::to_string(options_.resolve_timeout.count()) + " ms");
    }
  }
}

void MdnsResolver::Close() {
  {
    std::lock_guard lock(mutex_);
    if (!open_) return;
    open_ = false;
  }
  answered_.notify_all();
  Announce(0);  // goodbye: peers drop us now rather than when our TTL runs out
  transport_->Interrupt();
  if (responder_.joinable()) responder_.join();
  transport_.reset();
}

}  // namespace dapr::nameresolution
