#include "generation.h"

#include "decode_stepper.h"

#include <lmf/sdk/error.h>

#include <algorithm>
#include <random>

namespace lmf::torch_backend {
namespace {

}  // namespace

void check_request(const GenerationRequest& request, const std::string& which,
                   const ModelConfig& config) {
  if (request.prompt.empty()) sdk::fail(LMF_ERR_INVALID_ARGUMENT, which + " is empty");
  if (request.sampling.max_new_tokens < 1)  // a direct caller's; parsed options are checked
    sdk::fail(LMF_ERR_INVALID_ARGUMENT, which + ": max_new_tokens must be at least 1, got " +
                                            std::to_string(request.sampling.max_new_tokens));
  for (int64_t id : request.prompt)
    if (id < 0 || id >= config.vocab_size)
      sdk::fail(LMF_ERR_INVALID_ARGUMENT, which + " holds token id " + std::to_string(id) +
                                              ", outside the vocabulary [0, " +
                                              std::to_string(config.vocab_size) + ")");
  if (static_cast<int64_t>(request.prompt.size()) >= config.max_position_embeddings)
    sdk::fail(LMF_ERR_INVALID_ARGUMENT,
              which + " has " + std::to_string(request.prompt.size()) +
                  " tokens; the model's context (max_position_embeddings) is " +
                  std::to_string(config.max_position_embeddings) +
                  " and generation needs room for at least one more");
}

namespace {

bool contains(const std::vector<int64_t>& ids, int64_t id) {
  return std::find(ids.begin(), ids.end(), id) != ids.end();
}

// One sequence's state during the loop.
struct Sequence {
  GenerationRequest* request;
  GenerationOutput output;
  TokenSampler sampler;
  std::vector<int64_t> seen;  // prompt + generated, for the repetition penalty
  int64_t budget;             // new tokens it may still make
  bool done = false;
};

}  // namespace

std::vector<GenerationOutput> generate(Decoder& decoder, std::vector<GenerationRequest>& requests,
                                       const std::vector<int64_t>& eos_ids,
                                       const std::function<bool()>& cancelled) {
  const ModelConfig& config = decoder.config();
  const int64_t batch = static_cast<int64_t>(requests.size());
  if (batch == 0) return {};
  int64_t longest = 0, most_new = 0;
  std::vector<Sequence> sequences;
  sequences.reserve(batch);
  for (size_t i = 0; i < requests.size(); ++i) {
    GenerationRequest& request = requests[i];
    check_request(request, "generate: prompt " + std::to_string(i), config);
    const uint64_t seed = request.sampling.seed.value_or(std::random_device{}());
    // The context bounds the new tokens: a request for more ends at the context's end
    // (finish: length), as a serving API caps max_tokens.
    const int64_t room = config.max_position_embeddings - static_cast<int64_t>(request.prompt.size());
    const int64_t budget = std::min(request.sampling.max_new_tokens, room);
    sequences.push_back({&request, {}, TokenSampler(request.sampling, seed), request.prompt, budget});
    sequences.back().output.seed = seed;
    longest = std::max<int64_t>(longest, request.prompt.size());
    most_new = std::max(most_new, budget);
  }

  const torch::Device device = decoder.device();
  const auto ids_options = torch::TensorOptions().dtype(torch::kInt64);
  // Left padding: every prompt ends at column `longest - 1`; a row's positions count
  // from its first real token, as transformers' generate derives them from the mask.
  torch::Tensor ids = torch::zeros({batch, longest}, ids_options);
  torch::Tensor positions = torch::zeros({batch, longest}, ids_options);
  torch::Tensor key_valid = torch::ones({batch, longest + most_new}, ids_options.dtype(torch::kBool));
  bool padded = false;
  for (int64_t b = 0; b < batch; ++b) {
    const auto& prompt = requests[b].prompt;
    const int64_t pad = longest - static_cast<int64_t>(prompt.size());
    padded = padded || pad > 0;
    ids[b].narrow(0, pad, prompt.size()).copy_(torch::tensor(prompt, ids_options));
    positions[b].narrow(0, pad, prompt.size()).copy_(torch::arange(static_cast<int64_t>(prompt.size()), ids_options));
    if (pad > 0) key_valid[b].narrow(0, 0, pad).fill_(false);
  }
  ids = ids.to(device);
  positions = positions.to(device);
  key_valid = key_valid.to(device);

  torch::NoGradGuard no_grad;
  // Note [Greedy choice on the device]: when no sequence samples or penalises repeats,
  // the steps return argmax ids instead of logits.
  const bool greedy = device.is_cuda() && std::all_of(sequences.begin(), sequences.end(), [](const Sequence& s) {
    return !s.request->sampling.do_sample && s.request->sampling.repetition_penalty == 1.0;
  });
  // Note [Reused decode graphs]: with graphs, a stepper (its cache and graph) kept by the
  // decoder; without, one for this call.
  const int64_t capacity = longest + most_new;
  const bool graphs = decoder.cuda_graphs() && compat::StepGraph::available() && device.is_cuda();
  std::unique_ptr<DecodeStepper> own_stepper;
  if (!graphs) own_stepper = std::make_unique<DecodeStepper>(decoder, batch, capacity, false, greedy);
  DecodeStepper& stepper =
      graphs ? decoder.decode_steppers().acquire(decoder, batch, capacity, true, greedy) : *own_stepper;
  ForwardContext context{positions, padded ? key_valid.narrow(1, 0, longest) : torch::Tensor(),
                         &stepper.cache(), capacity};
  torch::Tensor hidden = decoder.hidden_states(ids, context);
  torch::Tensor logits = decoder.logits(hidden.select(1, -1)).to(torch::kCPU).contiguous();
  stepper.begin_decode(positions.select(1, -1).unsqueeze(1).clone(), key_valid, padded);
  std::vector<int64_t> next(batch, 0);
  int64_t active = batch;
  while (active > 0) {
    const bool stop_all = cancelled && cancelled();
    for (int64_t b = 0; b < batch; ++b) {
      Sequence& s = sequences[b];
      if (s.done) continue;
      if (stop_all) {
        s.output.finish_reason = LMF_FINISH_CANCELLED;
        s.done = true;
        --active;
        continue;
      }
      int64_t token = 0;
      if (!logits.defined()) {  // a greedy step chose on the device
        token = stepper.chosen()[b];
      } else {
        std::span<float> row(logits[b].data_ptr<float>(), config.vocab_size);
        token = s.sampler.next(row, s.seen);
      }
      next[b] = token;
      s.seen.push_back(token);
      s.output.ids.push_back(token);
      --s.budget;
      const GenerationRequest& request = *s.request;
      const bool is_stop = (!request.sampling.ignore_eos && contains(eos_ids, token)) ||
                           contains(request.sampling.stop_ids, token) ||
                           (request.hit_stop_string && request.hit_stop_string(s.output.ids));
      const bool keep_going = !request.on_token || request.on_token(token);
      if (is_stop || !keep_going || s.budget == 0) {
        s.output.finish_reason = is_stop ? LMF_FINISH_STOP
                                 : !keep_going ? LMF_FINISH_CANCELLED
                                               : LMF_FINISH_LENGTH;
        s.done = true;
        --active;
      }
    }
    if (active == 0) break;
    // Finished rows keep stepping (their outputs are ignored), fed their last token, or
    // their argmax when steps run ahead; the batch keeps its shape, so the cache and the
    // step stay the same for all.
    if (stepper.runs_ahead()) {
      // Note [Steps in flight]: step k (fed `next`, unless it already runs, fed on the
      // device), then step k+1 when some sequence will need a token after step k's.
      if (stepper.steps_in_flight() == 0) stepper.launch(&next);
      if (std::any_of(sequences.begin(), sequences.end(), [](const Sequence& s) { return !s.done && s.budget >= 2; }))
        stepper.launch(nullptr);
      stepper.take_chosen();
      logits = torch::Tensor();
    } else {
      logits = stepper.step(next);
    }
  }
  std::vector<GenerationOutput> outputs;
  outputs.reserve(batch);
  for (Sequence& s : sequences) outputs.push_back(std::move(s.output));
  return outputs;
}

}  // namespace lmf::torch_backend
