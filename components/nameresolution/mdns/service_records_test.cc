// Tests for the DNS-SD records a sidecar publishes and reads: Dapr's naming, which questions
// are answered, and which responses describe a reachable instance.
#include "components/nameresolution/mdns/service_records.h"

#include <gtest/gtest.h>

namespace dapr::nameresolution::mdns {
namespace {

constexpr uint32_t kTen = 0x0a000001;  // 10.0.0.1

Identity Cart() { return MakeIdentity("cart", 50002, "box.example.org", 42); }

// Sends a message through the wire format, as a peer would receive it.
Message OverTheWire(const Message& m) {
  auto bytes = Encode(m);
  EXPECT_TRUE(bytes.ok());
  auto decoded = Decode(*bytes);
  EXPECT_TRUE(decoded.ok());
  return *decoded;
}

Message QueryFor(const Name& name, uint16_t type) {
  Message q;
  q.questions.push_back({name, type, false});
  return q;
}

TEST(ServiceRecordsTest, NamesFollowDapr) {
  Identity self = Cart();
  EXPECT_EQ(self.instance, "box.example.org:42");  // Dapr: hostname:pid
  EXPECT_EQ(self.host_label, "box-42");
  EXPECT_EQ(ToDotted(ServiceName("cart")), "cart.local");
  EXPECT_EQ(InstanceName(self), (Name{"box.example.org:42", "cart", "local"}));
  EXPECT_EQ(ToDotted(HostName(self)), "box-42.local");
}

TEST(ServiceRecordsTest, LongHostnamesStillFitOneLabel) {
  Identity self = MakeIdentity("cart", 1, std::string(300, 'h'), 1234567);
  EXPECT_LE(self.instance.size(), 63u);
  EXPECT_LE(self.host_label.size(), 63u);
  EXPECT_EQ(self.instance.substr(self.instance.size() - 8), ":1234567");
  EXPECT_TRUE(Encode(Announcement(self, {kTen}, 120)).ok());
}

TEST(ServiceRecordsTest, AnnouncementCarriesPtrSrvTxtAndOneAPerAddress) {
  Message m = OverTheWire(Announcement(Cart(), {kTen, kTen + 1}, 120));
  EXPECT_TRUE(m.IsResponse());
  EXPECT_TRUE(m.flags & kFlagAuthoritative);
  EXPECT_TRUE(m.questions.empty());
  ASSERT_EQ(m.answers.size(), 5u);
  EXPECT_EQ(m.answers[0].type, kTypePtr);
  EXPECT_FALSE(m.answers[0].cache_flush);  // shared: several instances own this name
  EXPECT_EQ(m.answers[1].type, kTypeSrv);
  EXPECT_EQ(m.answers[1].srv.port, 50002);
  EXPECT_EQ(ToDotted(m.answers[1].srv.target), "box-42.local");
  EXPECT_EQ(m.answers[2].txt, std::vector<std::string>{"cart"});
  EXPECT_EQ(m.answers[3].ipv4, kTen);
  EXPECT_EQ(m.answers[4].ipv4, kTen + 1);
  for (size_t i = 1; i < 5; ++i) EXPECT_TRUE(m.answers[i].cache_flush) << i;
  for (const Record& r : m.answers) EXPECT_EQ(r.ttl, 120u);
}

TEST(ServiceRecordsTest, PtrQueryIsAnsweredWithTheRestAsAdditionals) {
  auto answer = AnswerTo(QueryFor(NameFromDotted("CART.local"), kTypePtr), Cart(), {kTen}, 120);
  ASSERT_TRUE(answer.has_value());
  ASSERT_EQ(answer->answers.size(), 1u);
  EXPECT_EQ(answer->answers[0].type, kTypePtr);
  EXPECT_EQ(answer->additionals.size(), 3u);  // SRV, TXT, A
  EXPECT_TRUE(answer->questions.empty());     // RFC 6762 §6: none in a response
}

TEST(ServiceRecordsTest, InstanceAndHostQueriesAreAnswered) {
  auto srv = AnswerTo(QueryFor(InstanceName(Cart()), kTypeSrv), Cart(), {kTen}, 120);
  ASSERT_TRUE(srv.has_value());
  ASSERT_EQ(srv->answers.size(), 1u);
  EXPECT_EQ(srv->answers[0].type, kTypeSrv);
  auto any = AnswerTo(QueryFor(InstanceName(Cart()), kTypeAny), Cart(), {kTen}, 120);
  ASSERT_TRUE(any.has_value());
  EXPECT_EQ(any->answers.size(), 2u);  // SRV and TXT
  auto a = AnswerTo(QueryFor(HostName(Cart()), kTypeA), Cart(), {kTen}, 120);
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->answers[0].ipv4, kTen);
}

TEST(ServiceRecordsTest, OtherQuestionsAndResponsesGetNoAnswer) {
  EXPECT_FALSE(AnswerTo(QueryFor(ServiceName("orders"), kTypePtr), Cart(), {kTen}, 120));
  EXPECT_FALSE(AnswerTo(QueryFor(ServiceName("cart"), kTypeSrv), Cart(), {kTen}, 120));
  EXPECT_FALSE(AnswerTo(QueryFor(NameFromDotted("box.local"), kTypeA), Cart(), {kTen}, 120));
  Message response = QueryFor(ServiceName("cart"), kTypePtr);
  response.flags = kFlagResponse;
  EXPECT_FALSE(AnswerTo(response, Cart(), {kTen}, 120));
  Message other_opcode = QueryFor(ServiceName("cart"), kTypePtr);
  other_opcode.flags = 0x2800;  // opcode 5 (update): RFC 6762 §18.3 says ignore
  EXPECT_FALSE(AnswerTo(other_opcode, Cart(), {kTen}, 120));
}

TEST(ServiceRecordsTest, QueryAsksForThePtrWithMulticastAnswers) {
  Message q = OverTheWire(Query("cart"));
  EXPECT_FALSE(q.IsResponse());
  ASSERT_EQ(q.questions.size(), 1u);
  EXPECT_EQ(ToDotted(q.questions[0].name), "cart.local");
  EXPECT_EQ(q.questions[0].type, kTypePtr);
  EXPECT_FALSE(q.questions[0].unicast_response);
}

TEST(ServiceRecordsTest, AnAnnouncementIsOneSightingWithAddressAndPort) {
  auto seen = SightingsIn(OverTheWire(Announcement(Cart(), {kTen, kTen + 1}, 120)));
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].app_id, "cart");
  EXPECT_EQ(seen[0].instance, "box.example.org:42");
  EXPECT_EQ(seen[0].address, "10.0.0.1:50002");  // the first address, as Dapr takes it
  EXPECT_EQ(seen[0].ttl, 120u);
}

TEST(ServiceRecordsTest, AnAnswerWithAdditionalsIsASighting) {
  auto answer = AnswerTo(QueryFor(ServiceName("cart"), kTypePtr), Cart(), {kTen}, 90);
  auto seen = SightingsIn(OverTheWire(*answer));
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].address, "10.0.0.1:50002");
  EXPECT_EQ(seen[0].ttl, 90u);
}

TEST(ServiceRecordsTest, TheShortestTtlOfTheChainCounts) {
  Message m = Announcement(Cart(), {kTen}, 120);
  m.answers[3].ttl = 30;  // the A record
  auto seen = SightingsIn(m);
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].ttl, 30u);
}

TEST(ServiceRecordsTest, AGoodbyeIsASightingWithTtlZero) {
  auto seen = SightingsIn(OverTheWire(Announcement(Cart(), {kTen}, 0)));
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].ttl, 0u);
  EXPECT_EQ(seen[0].instance, "box.example.org:42");
}

TEST(ServiceRecordsTest, IncompleteOrForeignResponsesAreNoSighting) {
  Message full = Announcement(Cart(), {kTen}, 120);
  auto without = [&](uint16_t type) {
    Message m = full;
    std::erase_if(m.answers, [type](const Record& r) { return r.type == type; });
    return SightingsIn(m).size();
  };
  EXPECT_EQ(without(kTypeSrv), 0u);
  EXPECT_EQ(without(kTypeA), 0u);
  EXPECT_EQ(without(kTypeTxt), 1u);  // TXT is informative only
  Message query_flagged = full;
  query_flagged.flags = 0;
  EXPECT_TRUE(SightingsIn(query_flagged).empty());
  Message error = full;
  error.flags |= 3;  // rcode NXDOMAIN
  EXPECT_TRUE(SightingsIn(error).empty());
  Message elsewhere = full;  // a PTR outside .local, or to an instance of another service
  elsewhere.answers[0].name = NameFromDotted("cart.example");
  EXPECT_TRUE(SightingsIn(elsewhere).empty());
  Message mismatch = full;
  mismatch.answers[0].ptr = {"box:42", "orders", "local"};
  EXPECT_TRUE(SightingsIn(mismatch).empty());
  Message zero_port = full;
  zero_port.answers[1].srv.port = 0;
  EXPECT_TRUE(SightingsIn(zero_port).empty());
}

TEST(ServiceRecordsTest, AddressesAreMatchedToTheSrvTargetOnly) {
  Message m = Announcement(Cart(), {kTen}, 120);
  m.answers[3].name = NameFromDotted("someone-else.local");
  EXPECT_TRUE(SightingsIn(m).empty());
}

}  // namespace
}  // namespace dapr::nameresolution::mdns
