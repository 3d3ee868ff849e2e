// Gives the SDK the host's API table, as a plugin's entry point would, so that SDK code
// under test can make statuses and tensors.
#pragma once

#include "core/plugin/host_api.h"

#include <lmf/sdk/error.h>

#include <gtest/gtest.h>

#include <string>

namespace lmf::sdk::testing {

class SdkTest : public ::testing::Test {
 protected:
  void SetUp() override { g_host_context.api = lmf::plugin::host_api(); }
  void TearDown() override { g_host_context = {}; }

  // The code and message of a status, which is released.
  struct Taken {
    lmf_status_code code;
    std::string message;
  };
  static Taken take(lmf_status_t* status) {
    EXPECT_NE(status, nullptr);
    if (status == nullptr) return {LMF_OK, ""};
    const lmf_host_api& host = api();
    Taken taken{host.status_code(status), host.status_message(status)};
    host.status_release(status);
    return taken;
  }
};

}  // namespace lmf::sdk::testing
