// WaitForAppPort: succeeds once something listens, backs off between attempts, gives up
// when asked to.
#include "channel/app_port_wait.h"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <vector>

namespace dapr::channel {
namespace {

using namespace std::chrono_literals;
using boost::asio::ip::tcp;

// A port nothing listens on: bound, then closed.
int ClosedPort() {
  boost::asio::io_context io;
  tcp::acceptor acceptor(io, tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0));
  int port = acceptor.local_endpoint().port();
  acceptor.close();
  return port;
}

TEST(AppPortWait, AnOpenPortNeedsNoPause) {
  boost::asio::io_context io;
  tcp::acceptor acceptor(io, tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0));
  int pauses = 0;
  EXPECT_TRUE(WaitForAppPort("127.0.0.1", acceptor.local_endpoint().port(),
                             [&](std::chrono::milliseconds) { return ++pauses, true; }));
  EXPECT_EQ(pauses, 0);
}

TEST(AppPortWait, PausesGrowToTheCapUntilTheAppListens) {
  const int port = ClosedPort();
  boost::asio::io_context io;
  std::unique_ptr<tcp::acceptor> app;
  std::vector<std::chrono::milliseconds> pauses;
  AppPortWaitOptions options{5ms, 40ms, 100ms};
  bool found = WaitForAppPort("127.0.0.1", port, [&](std::chrono::milliseconds pause) {
    pauses.push_back(pause);
    if (pauses.size() == 6) {  // the app comes up during the sixth pause
      app = std::make_unique<tcp::acceptor>(
          io, tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), static_cast<uint16_t>(port)));
    }
    return true;
  }, options);
  EXPECT_TRUE(found);
  EXPECT_EQ(pauses, (std::vector<std::chrono::milliseconds>{5ms, 10ms, 20ms, 40ms, 40ms, 40ms}));
}

TEST(AppPortWait, GivesUpWhenThePauseSaysSo) {
  const int port = ClosedPort();
  int pauses = 0;
  EXPECT_FALSE(WaitForAppPort("127.0.0.1", port, [&](std::chrono::milliseconds) {
    return ++pauses < 3;
  }));
  EXPECT_EQ(pauses, 3);
}

}  // namespace
}  // namespace dapr::channel
