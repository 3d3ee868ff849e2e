#!/usr/bin/env bash
# On the GPU machine: runs every fixture generator that needs the reference Python stack
# (transformers, PEFT, torch, bitsandbytes, tensorboard) and copies what they wrote under
# tests/fixtures into $OUT/fixtures.tar.gz, to be committed from the developer machine.
#   bash scripts/device-make-fixtures.sh [generator ...]   (default: all of them)
set -uo pipefail
cd "$(dirname "$0")/.."
: "${OUT:?set OUT to the folder the archive goes to (the device tool sets it)}"
generators=("$@")
if [ ${#generators[@]} -eq 0 ]; then
  generators=(
    tests/fixtures/training/make_optimizer_fixtures.py
    tests/fixtures/training/make_full_step_fixtures.py
    tests/fixtures/training/make_lora_fixtures.py
    tests/fixtures/quantizer/gptq/make_gptq_fixtures.py
    tests/fixtures/quantizer/awq/make_awq_fixtures.py
    tests/fixtures/quantizer/nf4/make_nf4_fixtures.py
    tests/fixtures/metrics/check_tensorboard.py
  )
fi
python3 - <<'PY'
import importlib
for name in ("torch", "transformers", "peft", "trl", "bitsandbytes", "tensorboard", "safetensors", "numpy"):
    try:
        module = importlib.import_module(name)
        print(f"{name} {getattr(module, '__version__', '?')}")
    except Exception as error:  # report, do not stop: each generator says what it needs
        print(f"{name} missing ({type(error).__name__}: {error})")
PY
marker=$(mktemp)
status=0
for generator in "${generators[@]}"; do
  echo "== $generator"
  if ! python3 "$generator"; then
    echo "!! $generator failed"
    status=1
  fi
done
# Files the generators wrote under tests/fixtures travel back as one archive (the device
# returns shallow folders only): unpack it in the checkout with tar xzf.
find tests/fixtures -type f -newer "$marker" -print0 | tar czf "$OUT/fixtures.tar.gz" --null -T -
tar tzf "$OUT/fixtures.tar.gz"
exit $status
