// Note [Reused decode graphs]: which stepper the decoder's pool hands out. The pool's
// point is the graphs (CUDA, cuda_test.cpp); its bookkeeping is the same without them.
#include "backend_test_support.h"
#include "decode_stepper.h"

namespace lmf::torch_backend::testing {
namespace {

class StepperPool : public BackendTest {
 protected:
  void SetUp() override {
    BackendTest::SetUp();
    model = load_fixture("llama3_tiny");
  }
  DecodeStepper& acquire(int64_t batch, int64_t capacity, bool greedy = false) {
    return pool.acquire(*model->decoder, batch, capacity, /*use_graph=*/false, greedy);
  }
  std::unique_ptr<LoadedModel> model;
  DecodeStepperPool pool;
};

TEST_F(StepperPool, NearbyCapacitiesShareAStepperRoundedUp) {
  DecodeStepper& first = acquire(2, 100);
  EXPECT_EQ(first.cache().capacity(), 128);  // the next multiple of kCapacityStep (64)
  EXPECT_EQ(&acquire(2, 128), &first);
  EXPECT_EQ(pool.size(), 1u);
  EXPECT_NE(&acquire(2, 129), &first);  // 192
  EXPECT_EQ(pool.size(), 2u);
}

TEST_F(StepperPool, BatchAndGreedyChoiceAreDistinctShapes) {
  DecodeStepper& sampled = acquire(2, 64);
  DecodeStepper& greedy = acquire(2, 64, /*greedy=*/true);
  DecodeStepper& wider = acquire(3, 64);
  EXPECT_NE(&sampled, &greedy);
  EXPECT_NE(&sampled, &wider);
  EXPECT_TRUE(greedy.greedy());
  EXPECT_EQ(wider.batch(), 3);
  EXPECT_EQ(&acquire(2, 64), &sampled);
}

TEST_F(StepperPool, KeepsTheMostRecentlyUsedFew) {
  for (int64_t batch = 1; batch <= 6; ++batch) acquire(batch, 64);
  EXPECT_EQ(pool.size(), DecodeStepperPool::kKept);
}

TEST_F(StepperPool, AnAcquiredStepperStartsWithAnEmptyCache) {
  DecodeStepper& stepper = acquire(1, 64);
  torch::NoGradGuard no_grad;
  torch::Tensor ids = torch::tensor({{5, 6, 7}}, torch::kInt64);
  model->decoder->hidden_states(ids, ForwardContext{torch::arange(3).view({1, 3}), {}, &stepper.cache(), 64});
  ASSERT_EQ(stepper.cache().length(), 3);
  EXPECT_EQ(acquire(1, 64).cache().length(), 0);
}

// Note [Steps in flight]: the copies come back oldest first, a bounded number pending.
TEST(ChosenReadback, GivesTheOldestCopyFirst) {
  ChosenReadback readback(2);
  readback.enqueue(torch::tensor({4, 5}, torch::kInt64));
  readback.enqueue(torch::tensor({6, 7}, torch::kInt64));
  EXPECT_EQ(readback.pending(), 2u);
  EXPECT_EQ(readback.take_oldest(), (std::vector<int64_t>{4, 5}));
  readback.enqueue(torch::tensor({8, 9}, torch::kInt64));
  EXPECT_EQ(readback.take_oldest(), (std::vector<int64_t>{6, 7}));
  EXPECT_EQ(readback.take_oldest(), (std::vector<int64_t>{8, 9}));
  EXPECT_THROW(readback.take_oldest(), std::logic_error);
  for (int i = 0; i < ChosenReadback::kSlots; ++i) readback.enqueue(torch::tensor({i, i}, torch::kInt64));
  EXPECT_THROW(readback.enqueue(torch::tensor({0, 0}, torch::kInt64)), std::logic_error);
  readback.discard_pending();
  EXPECT_EQ(readback.pending(), 0u);
}

// On a device the copy is queued on the tensor's stream: what a later kernel writes into
// the same tensor is not what the host reads back.
TEST(ChosenReadback, CopiesWhatTheTensorHeldWhenQueued) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  ChosenReadback readback(2);
  torch::Tensor ids = torch::full({2}, 1, torch::TensorOptions().dtype(torch::kInt64).device(torch::kCUDA));
  readback.enqueue(ids);
  ids.fill_(2);
  readback.enqueue(ids);
  EXPECT_EQ(readback.take_oldest(), (std::vector<int64_t>{1, 1}));
  EXPECT_EQ(readback.take_oldest(), (std::vector<int64_t>{2, 2}));
}

}  // namespace
}  // namespace lmf::torch_backend::testing
