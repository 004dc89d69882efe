// Base URLs of HTTPEndpoints and URL targets: scheme, host, port, path; bad ones refused.
#include "channel/http_endpoints.h"

#include <gtest/gtest.h>

namespace dapr::channel {
namespace {

TEST(BaseUrl, ReadsSchemeHostPortAndPath) {
  auto url = ParseBaseUrl("https://api.example.com:8443/v2/");
  ASSERT_TRUE(url.ok()) << url.error().message();
  EXPECT_TRUE(url->tls);
  EXPECT_EQ(url->host, "api.example.com");
  EXPECT_EQ(url->port, 8443);
  EXPECT_EQ(url->host_header, "api.example.com:8443");
  EXPECT_EQ(url->path, "/v2");
}

TEST(BaseUrl, DefaultsThePortBySchemeAndReadsIpv6) {
  auto plain = ParseBaseUrl("http://127.0.0.1");
  ASSERT_TRUE(plain.ok());
  EXPECT_FALSE(plain->tls);
  EXPECT_EQ(plain->port, 80);
  EXPECT_EQ(plain->path, "");
  auto secure = ParseBaseUrl("https://[::1]/x");
  ASSERT_TRUE(secure.ok()) << secure.error().message();
  EXPECT_EQ(secure->host, "::1");
  EXPECT_EQ(secure->port, 443);
  EXPECT_EQ(secure->host_header, "[::1]");
  auto with_port = ParseBaseUrl("http://[::1]:9000");
  ASSERT_TRUE(with_port.ok());
  EXPECT_EQ(with_port->port, 9000);
}

TEST(BaseUrl, RefusesWhatIsNotAUsableBaseUrl) {
  for (const char* bad : {"ftp://host", "host:80", "http://", "http://:80", "http://h:0",
                          "http://h:65536", "http://h:8x", "http://user@h", "http://h/p?q=1",
                          "http://[::1", "http://[::1]x"}) {
    EXPECT_FALSE(ParseBaseUrl(bad).ok()) << bad;
  }
}

}  // namespace
}  // namespace dapr::channel
