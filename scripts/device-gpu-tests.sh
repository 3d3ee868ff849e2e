#!/usr/bin/env bash
# On the GPU machine: configures the cuda preset (scripts/device-setup.sh), builds the
# torch backend's, the trainer's and the quantizers' test binaries and the benchmarks, and
# runs those tests there (their CUDA cases included). Logs go to $OUT when it is set.
#   bash scripts/device-gpu-tests.sh [test binary ...]
set -uo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-build/cuda/device-logs}
binaries=("$@")
if [ ${#binaries[@]} -eq 0 ]; then
  binaries=(lmf_backend_training_tests lmf_backend_trainer_tests lmf_quantizer_gptq_tests
            lmf_quantizer_rtn_tests lmf_quantizer_nf4_tests lmf_backend_torch_tests)
fi
mkdir -p "$out"
# Configure afresh when the setup script is not the one the build was configured by
# (its linker flags matter); compared by content, since copies of the tree get new times.
setup_sum=$(sha256sum scripts/device-setup.sh | cut -d' ' -f1)
if [ "$(cat build/cuda/.device-setup.sha256 2>/dev/null)" != "$setup_sum" ]; then
  rm -rf build/cuda
  bash scripts/device-setup.sh -DLMF_SKIP_PLUGINS=tokenizer/hf -DLMF_BUILD_BENCH=ON > "$out/configure.log" 2>&1 ||
    { tail -40 "$out/configure.log"; exit 1; }
  echo "$setup_sum" > build/cuda/.device-setup.sha256
fi
export LD_LIBRARY_PATH="/opt/deps/usr/lib/x86_64-linux-gnu:${LD_LIBRARY_PATH:-}"
start=$(date +%s)
cmake --build build/cuda -j16 --target "${binaries[@]}" lmf_backend_train_bench lmf_backend_decode_bench > "$out/build.log" 2>&1 ||
  { tail -40 "$out/build.log"; exit 1; }
echo "built in $(( $(date +%s) - start )) s"
status=0
for binary in "${binaries[@]}"; do
  build/cuda/bin/"$binary" --gtest_brief=1 > "$out/$binary.log" 2>&1 || status=1
  echo "$binary: $(grep -E '^\[  (PASSED|FAILED|SKIPPED) ' "$out/$binary.log" | tr '\n' ' ')"
  grep -E '^\[  FAILED  \] [A-Za-z]' "$out/$binary.log" | head -20
done
exit $status
