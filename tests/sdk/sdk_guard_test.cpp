// guard() and check(): exceptions become statuses at the boundary and back
// (Note [Exceptions stop at the boundary] in sdk/include/lmf/sdk/error.h).
#include "tests/sdk/sdk_test_host.h"

#include <lmf/sdk/error.h>

#include <new>
#include <stdexcept>

namespace lmf::sdk::testing {
namespace {

using SdkGuard = SdkTest;

TEST_F(SdkGuard, SuccessIsNull) {
  bool ran = false;
  EXPECT_EQ(guard([&] { ran = true; }), nullptr);
  EXPECT_TRUE(ran);
}

TEST_F(SdkGuard, ErrorKeepsItsCodeAndMessage) {
  Taken status = take(guard([] { fail(LMF_ERR_NOT_FOUND, "tokenizer.json: no such file"); }));
  EXPECT_EQ(status.code, LMF_ERR_NOT_FOUND);
  EXPECT_EQ(status.message, "tokenizer.json: no such file");

  status = take(guard([] { throw Error(LMF_ERR_CANCELLED, "stopped at step 3"); }));
  EXPECT_EQ(status.code, LMF_ERR_CANCELLED);
  EXPECT_EQ(status.message, "stopped at step 3");
}

TEST_F(SdkGuard, UnsupportedNamesWhatIsMissing) {
  Taken status = take(guard([] { unsupported("import_layer"); }));
  EXPECT_EQ(status.code, LMF_ERR_UNSUPPORTED);
  EXPECT_NE(status.message.find("import_layer"), std::string::npos) << status.message;
}

TEST_F(SdkGuard, BadAllocIsOutOfMemory) {
  Taken status = take(guard([] { throw std::bad_alloc(); }));
  EXPECT_EQ(status.code, LMF_ERR_OUT_OF_MEMORY);
  EXPECT_FALSE(status.message.empty());
}

TEST_F(SdkGuard, InvalidArgumentKeepsItsMessage) {
  Taken status = take(guard([] { throw std::invalid_argument("rows must be positive"); }));
  EXPECT_EQ(status.code, LMF_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(status.message, "rows must be positive");
}

TEST_F(SdkGuard, OtherExceptionsAreInternalWithTheirMessage) {
  Taken status = take(guard([] { throw std::runtime_error("invariant broke"); }));
  EXPECT_EQ(status.code, LMF_ERR_INTERNAL);
  EXPECT_EQ(status.message, "invariant broke");

  status = take(guard([] { throw std::out_of_range("index 7 of 3"); }));
  EXPECT_EQ(status.code, LMF_ERR_INTERNAL);
  EXPECT_EQ(status.message, "index 7 of 3");
}

TEST_F(SdkGuard, NonStandardExceptionsAreInternal) {
  Taken status = take(guard([] { throw 42; }));
  EXPECT_EQ(status.code, LMF_ERR_INTERNAL);
  EXPECT_FALSE(status.message.empty());
}

TEST_F(SdkGuard, CheckTurnsAStatusBackIntoAnError) {
  EXPECT_NO_THROW(check(nullptr));
  try {
    check(api().status_create(LMF_ERR_DATA, to_view("line 3: bad JSON")));
    FAIL() << "check did not throw";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), LMF_ERR_DATA);
    EXPECT_STREQ(e.what(), "line 3: bad JSON");
  }
}

TEST_F(SdkGuard, StatusSurvivesARoundTrip) {
  // A status from another component, rethrown by check inside a guarded call, keeps its
  // code and message on the way out.
  Taken status = take(guard([] { check(make_status(LMF_ERR_IO, "disk full")); }));
  EXPECT_EQ(status.code, LMF_ERR_IO);
  EXPECT_EQ(status.message, "disk full");
}

}  // namespace
}  // namespace lmf::sdk::testing
