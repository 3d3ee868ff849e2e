#include "core/services/cancellation.h"

#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <csignal>
#include <stdexcept>
#include <thread>
#include <vector>

namespace lmf::services {
namespace {

class ServicesCancellation : public ::testing::Test {
 protected:
  void SetUp() override { Cancellation::process().reset(); }
  void TearDown() override {
    Cancellation::process().restore_signal_handlers();
    Cancellation::process().reset();
  }
  Cancellation& cancellation = Cancellation::process();
};

TEST_F(ServicesCancellation, RequestAndReset) {
  EXPECT_FALSE(cancellation.requested());
  EXPECT_FALSE(cancellation.poll());
  cancellation.request();
  EXPECT_TRUE(cancellation.requested());
  EXPECT_TRUE(cancellation.poll());
  cancellation.reset();
  EXPECT_FALSE(cancellation.requested());
}

TEST_F(ServicesCancellation, SigintSetsTheFlag) {
  cancellation.install_signal_handlers();
  cancellation.install_signal_handlers();  // idempotent: must not save itself as "previous"
  ASSERT_EQ(std::raise(SIGINT), 0);
  EXPECT_TRUE(cancellation.requested());
  cancellation.restore_signal_handlers();

  struct sigaction current {};
  ASSERT_EQ(sigaction(SIGINT, nullptr, &current), 0);
  EXPECT_EQ(current.sa_handler, SIG_DFL);
}

TEST_F(ServicesCancellation, SigtermSetsTheFlag) {
  cancellation.install_signal_handlers();
  ASSERT_EQ(std::raise(SIGTERM), 0);
  EXPECT_TRUE(cancellation.requested());
}

TEST_F(ServicesCancellation, ResetArmsTheFirstSignalAgain) {
  cancellation.install_signal_handlers();
  ASSERT_EQ(std::raise(SIGINT), 0);
  cancellation.reset();
  EXPECT_FALSE(cancellation.requested());
  // After reset this is a first signal again; otherwise it would kill the test process.
  ASSERT_EQ(std::raise(SIGINT), 0);
  EXPECT_TRUE(cancellation.requested());
}

std::atomic<int> g_custom_handler_calls{0};
void custom_handler(int) {
  g_custom_handler_calls.fetch_add(1);
}

TEST_F(ServicesCancellation, RestorePutsBackThePreviousHandler) {
  struct sigaction custom {};
  custom.sa_handler = custom_handler;
  sigemptyset(&custom.sa_mask);
  struct sigaction original {};
  ASSERT_EQ(sigaction(SIGINT, &custom, &original), 0);

  cancellation.install_signal_handlers();
  cancellation.restore_signal_handlers();
  g_custom_handler_calls = 0;
  ASSERT_EQ(std::raise(SIGINT), 0);
  EXPECT_EQ(g_custom_handler_calls.load(), 1);
  EXPECT_FALSE(cancellation.requested());

  ASSERT_EQ(sigaction(SIGINT, &original, nullptr), 0);
}

TEST_F(ServicesCancellation, SecondSignalKillsWithTheDefaultAction) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        Cancellation::process().install_signal_handlers();
        std::raise(SIGINT);
        std::raise(SIGINT);
      },
      ::testing::KilledBySignal(SIGINT),
      "stopping after the current step \\(Ctrl-C again to abort\\)");
}

TEST_F(ServicesCancellation, CallbacksRunFromPollNotFromTheSignalHandler) {
  std::atomic<int> calls{0};
  std::thread::id callback_thread;
  auto registration = cancellation.on_cancel([&] {
    ++calls;
    callback_thread = std::this_thread::get_id();
  });
  cancellation.install_signal_handlers();
  ASSERT_EQ(std::raise(SIGINT), 0);
  EXPECT_EQ(calls.load(), 0);

  // poll() from another thread: the callback runs there.
  std::thread poller([&] { EXPECT_TRUE(cancellation.poll()); });
  const auto poller_id = poller.get_id();
  poller.join();
  EXPECT_EQ(calls.load(), 1);
  EXPECT_EQ(callback_thread, poller_id);
  EXPECT_TRUE(cancellation.poll());
  EXPECT_EQ(calls.load(), 1) << "callbacks run once per request";

  cancellation.reset();
  cancellation.request();
  EXPECT_EQ(calls.load(), 2);
  EXPECT_EQ(callback_thread, std::this_thread::get_id());
}

TEST_F(ServicesCancellation, ResetRegistrationUnregisters) {
  int first = 0;
  int second = 0;
  auto a = cancellation.on_cancel([&] { ++first; });
  {
    auto b = cancellation.on_cancel([&] { ++second; });
  }
  a.reset();
  auto moved = cancellation.on_cancel([&] { ++second; });
  auto target = std::move(moved);
  cancellation.request();
  EXPECT_EQ(first, 0);
  EXPECT_EQ(second, 1);
}

TEST_F(ServicesCancellation, LateRegistrationRunsImmediately) {
  cancellation.request();
  int calls = 0;
  auto registration = cancellation.on_cancel([&] { ++calls; });
  EXPECT_EQ(calls, 1);
}

TEST_F(ServicesCancellation, ThrowingCallbackDoesNotStopTheOthers) {
  int calls = 0;
  auto a = cancellation.on_cancel([] { throw std::runtime_error("first"); });
  auto b = cancellation.on_cancel([&] { ++calls; });
  EXPECT_THROW(cancellation.request(), std::runtime_error);
  EXPECT_EQ(calls, 1);
  EXPECT_TRUE(cancellation.requested());
}

TEST_F(ServicesCancellation, CallbackMayUnregisterAnother) {
  int second_calls = 0;
  Cancellation::Registration second;
  auto first = cancellation.on_cancel([&] { second.reset(); });
  second = cancellation.on_cancel([&] { ++second_calls; });
  cancellation.request();
  EXPECT_EQ(second_calls, 0);
}

}  // namespace
}  // namespace lmf::services
