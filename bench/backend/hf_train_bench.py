#!/usr/bin/env python3
"""transformers' (+ PEFT's) training speed on the shapes of train_bench.cpp, measured the same way.

Random weights. full: the model in fp32 under torch.autocast(bfloat16) — what transformers'
Trainer does with bf16=True — with torch.optim.AdamW(fused=True); lora: the model in bf16
with PEFT LoRA r=16, alpha 32 on the seven projections (adapters fp32, as PEFT makes
them), AdamW on the adapters. SDPA attention, labels = input_ids (transformers' loss).
tokens/s over STEPS steps after two warm-up steps; peak = torch.cuda.max_memory_allocated.
Prints one JSON line.
Usage: python3 hf_train_bench.py SHAPE full|lora [SEQ] [MICRO_BATCH] [STEPS] [checkpointing 0|1]
"""
import json
import sys
import time

import torch
from transformers import AutoModelForCausalLM

from hf_decode_bench import SHAPES

PEAK_TFLOPS = {"H200": 989.4, "H100": 989.4, "A100": 312.0}


def flops_per_token(c, seq, weight_gradients):
    # Note [Counting FLOPs] of trainer/run_meter.h.
    head_dim = c.hidden_size // c.num_attention_heads
    q = c.num_attention_heads * head_dim
    kv = c.num_key_value_heads * head_dim
    per_layer = c.hidden_size * (q + 2 * kv) + q * c.hidden_size + 3 * c.hidden_size * c.intermediate_size
    weights = c.num_hidden_layers * per_layer + c.vocab_size * c.hidden_size
    forward = 2 * weights + 4 * c.num_hidden_layers * q * seq
    return forward * (3 if weight_gradients else 2)


def main():
    shape, method = sys.argv[1], sys.argv[2]
    seq = int(sys.argv[3]) if len(sys.argv) > 3 else 2048
    micro_batch = int(sys.argv[4]) if len(sys.argv) > 4 else 4
    steps = int(sys.argv[5]) if len(sys.argv) > 5 else 8
    checkpointing = len(sys.argv) > 6 and sys.argv[6] == "1"
    config_class, kwargs = SHAPES[shape]
    config = config_class(**kwargs)
    torch.manual_seed(0)
    full = method == "full"
    with torch.device("cuda"):
        model = AutoModelForCausalLM.from_config(config, dtype=torch.float32 if full else torch.bfloat16,
                                                 attn_implementation="sdpa")
    if checkpointing:
        model.gradient_checkpointing_enable()
    if not full:
        from peft import LoraConfig, get_peft_model
        model = get_peft_model(model, LoraConfig(r=16, lora_alpha=32, lora_dropout=0.0, task_type="CAUSAL_LM",
                                                 target_modules=["q_proj", "k_proj", "v_proj", "o_proj",
                                                                 "gate_proj", "up_proj", "down_proj"]))
    model.train()
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=1e-5, betas=(0.9, 0.95), eps=1e-8, fused=True)
    ids = torch.randint(100, config.vocab_size - 100, (micro_batch, seq), device="cuda")

    def step():
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=full):
            loss = model(input_ids=ids, labels=ids).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        return loss

    for _ in range(2):
        step()
    torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(steps):
        loss = step()
    torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    tokens_per_s = steps * micro_batch * seq / seconds
    name = torch.cuda.get_device_name()
    peak = next((v for k, v in PEAK_TFLOPS.items() if k in name), 0.0)
    mfu = tokens_per_s * flops_per_token(config, seq, full) / (peak * 1e12) if peak else 0.0
    print(json.dumps({"impl": "transformers" if full else "transformers+peft", "shape": shape, "method": method,
                      "seq": seq, "micro_batch": micro_batch, "activation_checkpointing": checkpointing,
                      "tokens_per_s": tokens_per_s, "mfu": mfu,
                      "peak_memory_gib": torch.cuda.max_memory_allocated() / 2**30, "loss": loss.item(),
                      "device": name}), flush=True)


if __name__ == "__main__":
    main()
