#!/usr/bin/env python3
"""transformers' generation speed on the shapes of decode_bench.cpp, measured the same way.

Random weights, bf16, SDPA attention, static-shape-free default generate() (what a user
of transformers gets), greedy. decode: (time of N+1 new tokens - time of 1) / N.
Prints one JSON line per measurement.
Usage: python3 hf_decode_bench.py SHAPE [batch...]
"""
import json
import sys
import time

import torch
from transformers import AutoModelForCausalLM, LlamaConfig, Qwen2Config

SHAPES = {
    "llama8b": (LlamaConfig, dict(vocab_size=128256, hidden_size=4096, intermediate_size=14336,
                                  num_hidden_layers=32, num_attention_heads=32, num_key_value_heads=8,
                                  max_position_embeddings=131072, rms_norm_eps=1e-5,
                                  rope_theta=500000.0, tie_word_embeddings=False,
                                  rope_scaling={"rope_type": "llama3", "factor": 8.0,
                                                "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                                                "original_max_position_embeddings": 8192})),
    "qwen1.5b": (Qwen2Config, dict(vocab_size=151936, hidden_size=1536, intermediate_size=8960,
                                   num_hidden_layers=28, num_attention_heads=12, num_key_value_heads=2,
                                   max_position_embeddings=131072, rms_norm_eps=1e-6,
                                   rope_theta=10000.0, tie_word_embeddings=False)),
}


def timed_generate(model, batch, prompt_len, new_tokens):
    ids = (torch.arange(prompt_len, device="cuda")[None, :] * 104729 + torch.arange(batch, device="cuda")[:, None] * 7919) % 32000 + 100
    torch.cuda.synchronize()
    start = time.perf_counter()
    model.generate(ids, attention_mask=torch.ones_like(ids), do_sample=False, max_new_tokens=new_tokens,
                   min_new_tokens=new_tokens, pad_token_id=0, eos_token_id=None)
    torch.cuda.synchronize()
    return time.perf_counter() - start


def main():
    shape = sys.argv[1]
    batches = [int(b) for b in sys.argv[2:]] or [1, 32]
    config_class, kwargs = SHAPES[shape]
    torch.manual_seed(0)
    with torch.device("cuda"):
        model = AutoModelForCausalLM.from_config(config_class(**kwargs), dtype=torch.bfloat16,
                                                 attn_implementation="sdpa").eval()
    for batch in batches:
        prompt, steps = 128, 128
        for new_tokens in (1, steps + 1):  # warm-up with the calls timed below, as lmforge's bench
            timed_generate(model, batch, prompt, new_tokens)
        one = timed_generate(model, batch, prompt, 1)
        many = timed_generate(model, batch, prompt, steps + 1)
        per_step = (many - one) / steps
        print(json.dumps({"impl": "transformers", "shape": shape, "test": "decode", "batch": batch,
                          "ms_per_step": per_step * 1e3, "tokens_per_s": batch / per_step}), flush=True)
    prompt = 2048
    timed_generate(model, 1, prompt, 1)
    total = sum(timed_generate(model, 1, prompt, 1) for _ in range(5))
    print(json.dumps({"impl": "transformers", "shape": shape, "test": "prefill", "batch": 1, "prompt": prompt,
                      "tokens_per_s": prompt / (total / 5), "ms": total / 5 * 1e3}), flush=True)


if __name__ == "__main__":
    with torch.no_grad():
        main()
