// Tests for nameresolution.mdns over an in-memory link: every packet one resolver sends
// reaches every resolver on the link (itself included, as IP_MULTICAST_LOOP does), in the
// real wire format. No socket is opened: multicast must not leave this machine (the real
// socket is covered by tests/e2e/invoke-mdns.test.mjs in private network namespaces).
#include "components/nameresolution/mdns/mdns_resolver.h"

#include <gtest/gtest.h>

#include <atomic>
#include <deque>
#include <set>

namespace dapr::nameresolution {
namespace {

using namespace std::chrono_literals;
using mdns::Transport;
using Clock = std::chrono::steady_clock;

class FakeTransport;

// Everything multicast on the link, and who is on it.
class FakeLink {
 public:
  void Join(FakeTransport* member) {
    std::lock_guard lock(mutex_);
    members_.insert(member);
  }
  void Leave(FakeTransport* member) {
    std::lock_guard lock(mutex_);
    members_.erase(member);
  }
  void Deliver(const std::vector<uint8_t>& bytes);
  std::vector<mdns::Message> Sent() {
    std::lock_guard lock(mutex_);
    std::vector<mdns::Message> out;
    for (const auto& bytes : sent_) out.push_back(mdns::Decode(bytes).value());
    return out;
  }
  int QueriesFor(const std::string& app_id) {
    int count = 0;
    for (const mdns::Message& m : Sent()) {
      for (const mdns::Question& q : m.questions) count += !m.IsResponse() && q.name[0] == app_id;
    }
    return count;
  }

 private:
  std::mutex mutex_;
  std::set<FakeTransport*> members_;
  std::vector<std::vector<uint8_t>> sent_;
};

class FakeTransport final : public Transport {
 public:
  FakeTransport(std::shared_ptr<FakeLink> link, uint32_t ipv4)
      : link_(std::move(link)), interfaces_{{2, "eth0", {ipv4}}} {
    link_->Join(this);
  }
  ~FakeTransport() override { link_->Leave(this); }

  const std::vector<mdns::LinkInterface>& Interfaces() const override { return interfaces_; }
  Status Send(int, const std::vector<uint8_t>& bytes) override {
    link_->Deliver(bytes);
    return Status::Ok();
  }
  std::optional<Packet> Receive(std::optional<std::chrono::milliseconds> timeout) override {
    std::unique_lock lock(mutex_);
    receives_++;
    auto ready = [&] { return interrupted_ || !queue_.empty(); };
    if (timeout) {
      arrived_.wait_for(lock, *timeout, ready);
    } else {
      arrived_.wait(lock, ready);
    }
    if (interrupted_ || queue_.empty()) {
      interrupted_ = false;
      return std::nullopt;
    }
    Packet packet{std::move(queue_.front()), 2};
    queue_.pop_front();
    return packet;
  }
  void Interrupt() override {
    std::lock_guard lock(mutex_);
    interrupted_ = true;
    arrived_.notify_all();
  }
  void Push(const std::vector<uint8_t>& bytes) {
    std::lock_guard lock(mutex_);
    queue_.push_back(bytes);
    arrived_.notify_all();
  }
  static std::atomic<int> receives_;

 private:
  std::shared_ptr<FakeLink> link_;
  std::vector<mdns::LinkInterface> interfaces_;
  std::mutex mutex_;
  std::condition_variable arrived_;
  std::deque<std::vector<uint8_t>> queue_;
  bool interrupted_ = false;
};

std::atomic<int> FakeTransport::receives_{0};

void FakeLink::Deliver(const std::vector<uint8_t>& bytes) {
  std::lock_guard lock(mutex_);
  sent_.push_back(bytes);
  for (FakeTransport* member : members_) member->Push(bytes);
}

class MdnsResolverTest : public ::testing::Test {
 protected:
  static MdnsResolver::Options Fast() {
    MdnsResolver::Options options;
    options.resolve_timeout = 1000ms;
    options.query_retry = 100ms;
    options.announce_gap = 50ms;
    options.answer_delay_min = 5ms;
    options.answer_delay_max = 20ms;
    options.hostname = "box";
    return options;
  }

  // A sidecar on the link at 10.0.0.{host} whose internal gRPC port is 5000 + host.
  MdnsResolver& Start(const std::string& app_id, int host, MdnsResolver::Options options = Fast()) {
    options.pid = host;
    uint32_t ipv4 = 0x0a000000u + static_cast<uint32_t>(host);
    auto resolver = std::make_unique<MdnsResolver>(
        [this, ipv4]() -> Result<std::unique_ptr<Transport>> {
          return std::unique_ptr<Transport>(std::make_unique<FakeTransport>(link_, ipv4));
        },
        options);
    Status status = resolver->Init(ComponentMetadata("nr", "nameresolution.mdns", {}),
                                   Self(app_id, static_cast<uint16_t>(5000 + host)));
    EXPECT_TRUE(status.ok()) << status.message();
    resolvers_.push_back(std::move(resolver));
    return *resolvers_.back();
  }

  static Registration Self(const std::string& app_id, uint16_t port) {
    Registration self;
    self.app_id = app_id;
    self.dapr_internal_grpc_port = port;
    return self;
  }

  static std::string ResolveOrError(MdnsResolver& resolver, const std::string& app_id) {
    auto address = resolver.Resolve({app_id, ""});
    return address.ok() ? address.value() : "error: " + address.error().message();
  }

  void TearDown() override { resolvers_.clear(); }

  std::shared_ptr<FakeLink> link_ = std::make_shared<FakeLink>();
  std::vector<std::unique_ptr<MdnsResolver>> resolvers_;
};

TEST_F(MdnsResolverTest, FindsAnotherSidecarOnTheLink) {
  MdnsResolver& alpha = Start("alpha", 1);
  Start("beta", 2);
  EXPECT_EQ(ResolveOrError(alpha, "beta"), "10.0.0.2:5002");
  EXPECT_EQ(ResolveOrError(alpha, "BETA"), "10.0.0.2:5002");  // DNS ignores case
}

TEST_F(MdnsResolverTest, ReturnsWithTheFirstAnswer) {
  MdnsResolver::Options slow_timeout = Fast();
  slow_timeout.resolve_timeout = 3000ms;
  MdnsResolver& alpha = Start("alpha", 1, slow_timeout);
  Start("beta", 2);
  auto started = Clock::now();
  EXPECT_EQ(ResolveOrError(alpha, "beta"), "10.0.0.2:5002");
  EXPECT_LT(Clock::now() - started, 500ms);
}

TEST_F(MdnsResolverTest, RotatesOverEveryInstanceOfTheApp) {
  MdnsResolver& alpha = Start("alpha", 1);
  Start("beta", 2);
  Start("beta", 3);
  std::set<std::string> seen;
  // The first answer ends the first call; the other arrives within the answer delay.
  for (int i = 0; i < 50 && seen.size() < 2; ++i) {
    seen.insert(ResolveOrError(alpha, "beta"));
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_EQ(seen, (std::set<std::string>{"10.0.0.2:5002", "10.0.0.3:5003"}));
  std::string first = ResolveOrError(alpha, "beta");
  std::string second = ResolveOrError(alpha, "beta");
  EXPECT_NE(first, second);
  EXPECT_EQ(ResolveOrError(alpha, "beta"), first);
}

TEST_F(MdnsResolverTest, CachedAnswersNeedNoQuery) {
  MdnsResolver& alpha = Start("alpha", 1);
  Start("beta", 2);
  ASSERT_EQ(ResolveOrError(alpha, "beta"), "10.0.0.2:5002");
  int queries = link_->QueriesFor("beta");
  EXPECT_GE(queries, 1);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(ResolveOrError(alpha, "beta"), "10.0.0.2:5002");
  EXPECT_EQ(link_->QueriesFor("beta"), queries);
}

TEST_F(MdnsResolverTest, UnknownAppIsNotFoundAfterTheTimeout) {
  MdnsResolver::Options short_timeout = Fast();
  short_timeout.resolve_timeout = 250ms;
  MdnsResolver& alpha = Start("alpha", 1, short_timeout);
  auto started = Clock::now();
  auto address = alpha.Resolve({"nobody", ""});
  auto took = Clock::now() - started;
  ASSERT_FALSE(address.ok());
  EXPECT_EQ(address.error().code(), StatusCode::kNotFound);
  EXPECT_NE(address.error().message().find("\"nobody\""), std::string::npos);
  EXPECT_GE(took, 250ms);
  EXPECT_LT(took, 1000ms);
  EXPECT_GE(link_->QueriesFor("nobody"), 2);  // asked again while waiting
}

TEST_F(MdnsResolverTest, AnnouncesTwiceWithItsInterfaceAddress) {
  Start("beta", 2);
  std::this_thread::sleep_for(150ms);
  int announcements = 0;
  for (const mdns::Message& m : link_->Sent()) {
    auto seen = mdns::SightingsIn(m);
    if (m.questions.empty() && seen.size() == 1 && seen[0].address == "10.0.0.2:5002") {
      announcements++;
    }
  }
  EXPECT_EQ(announcements, 2);
}

TEST_F(MdnsResolverTest, CloseSaysGoodbyeAndPeersForgetAtOnce) {
  MdnsResolver::Options short_timeout = Fast();
  short_timeout.resolve_timeout = 200ms;
  MdnsResolver& alpha = Start("alpha", 1, short_timeout);
  MdnsResolver& beta = Start("beta", 2);
  ASSERT_EQ(ResolveOrError(alpha, "beta"), "10.0.0.2:5002");
  beta.Close();
  mdns::Message goodbye = link_->Sent().back();
  ASSERT_FALSE(goodbye.answers.empty());
  for (const mdns::Record& r : goodbye.answers) EXPECT_EQ(r.ttl, 0u);
  // The goodbye is handled on alpha's responder thread: allow it a moment.
  std::string after;
  for (int i = 0; i < 20; ++i) {
    after = ResolveOrError(alpha, "beta");
    if (after.rfind("error:", 0) == 0) break;
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_EQ(after.rfind("error: no host found for app id \"beta\"", 0), 0) << after;
}

TEST_F(MdnsResolverTest, ClosedResolverIsUnavailableAndCloseIsIdempotent) {
  MdnsResolver& alpha = Start("alpha", 1);
  alpha.Close();
  alpha.Close();
  EXPECT_EQ(alpha.Resolve({"beta", ""}).error().code(), StatusCode::kUnavailable);
}

TEST_F(MdnsResolverTest, CloseWakesAWaitingResolve) {
  MdnsResolver::Options long_timeout = Fast();
  long_timeout.resolve_timeout = 5000ms;
  MdnsResolver& alpha = Start("alpha", 1, long_timeout);
  auto started = Clock::now();
  std::thread closer([&] {
    std::this_thread::sleep_for(100ms);
    alpha.Close();
  });
  auto address = alpha.Resolve({"nobody", ""});
  closer.join();
  EXPECT_EQ(address.error().code(), StatusCode::kUnavailable);
  EXPECT_LT(Clock::now() - started, 2000ms);
}

TEST_F(MdnsResolverTest, RefreshesBeforeTheTtlRunsOut) {
  MdnsResolver::Options short_ttl = Fast();
  short_ttl.record_ttl = 1s;
  MdnsResolver& alpha = Start("alpha", 1, short_ttl);
  Start("beta", 2, short_ttl);
  ASSERT_EQ(ResolveOrError(alpha, "beta"), "10.0.0.2:5002");
  // Past 80% of the TTL, counted from the last announcement heard (at ~50 ms).
  std::this_thread::sleep_for(900ms);
  int before = link_->QueriesFor("beta");
  EXPECT_EQ(ResolveOrError(alpha, "beta"), "10.0.0.2:5002");  // from the cache...
  EXPECT_EQ(link_->QueriesFor("beta"), before + 1);           // ...and asked again
  std::this_thread::sleep_for(400ms);  // the first answer has expired, the refresh has not
  int after_refresh = link_->QueriesFor("beta");
  EXPECT_EQ(ResolveOrError(alpha, "beta"), "10.0.0.2:5002");
  EXPECT_EQ(link_->QueriesFor("beta"), after_refresh);
}

TEST_F(MdnsResolverTest, MalformedPacketsAreIgnored) {
  MdnsResolver& alpha = Start("alpha", 1);
  Start("beta", 2);
  link_->Deliver({});
  link_->Deliver({1, 2, 3});
  link_->Deliver(std::vector<uint8_t>(12, 0xff));
  auto valid = mdns::Encode(mdns::Announcement(mdns::MakeIdentity("beta", 1, "x", 1), {1}, 120));
  std::vector<uint8_t> cut(valid->begin(), valid->begin() + 40);
  link_->Deliver(cut);
  EXPECT_EQ(ResolveOrError(alpha, "beta"), "10.0.0.2:5002");
}

// The responder waits for packets without a timeout once nothing is scheduled.
TEST_F(MdnsResolverTest, AnIdleResponderSleeps) {
  Start("beta", 2);
  std::this_thread::sleep_for(150ms);  // past the second announcement
  int before = FakeTransport::receives_.load();
  std::this_thread::sleep_for(300ms);
  EXPECT_LE(FakeTransport::receives_.load() - before, 1);
}

TEST_F(MdnsResolverTest, InitRefusesBadRegistrations) {
  auto init = [&](const Registration& self) {
    MdnsResolver resolver(
        [this]() -> Result<std::unique_ptr<Transport>> {
          return std::unique_ptr<Transport>(std::make_unique<FakeTransport>(link_, 1));
        },
        Fast());
    return resolver.Init(ComponentMetadata(), self).code();
  };
  EXPECT_EQ(init(Self("", 1)), StatusCode::kInvalidArgument);
  EXPECT_EQ(init(Self(std::string(64, 'a'), 1)), StatusCode::kInvalidArgument);
  EXPECT_EQ(init(Self("beta", 0)), StatusCode::kInvalidArgument);
  EXPECT_EQ(init(Self("beta", 1)), StatusCode::kOk);
}

TEST_F(MdnsResolverTest, InitReportsATransportThatCannotOpen) {
  MdnsResolver resolver(
      []() -> Result<std::unique_ptr<Transport>> {
        return Unavailable("mdns: no interface is up");
      },
      Fast());
  Status status = resolver.Init(ComponentMetadata(), Self("beta", 1));
  EXPECT_EQ(status.code(), StatusCode::kUnavailable);
  EXPECT_EQ(resolver.Resolve({"alpha", ""}).error().code(), StatusCode::kUnavailable);
}

}  // namespace
}  // namespace dapr::nameresolution
