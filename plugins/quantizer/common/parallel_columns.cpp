#include "plugins/quantizer/common/parallel_columns.h"

#include <algorithm>

#ifdef LMF_QUANT_HAVE_TBB
#include <dlfcn.h>
#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>
#endif

namespace lmf::quant {

#ifdef LMF_QUANT_HAVE_TBB
namespace {

// Note [oneTBB stays loaded] (plugins/data_source/corpus/pipeline/record_pipeline.cpp):
// the plugin that runs these kernels may be unloaded under oneTBB's sleeping workers.
void keep_tbb_loaded() {
  static void* const handle = dlopen(LMF_TBB_SONAME, RTLD_NOW | RTLD_NOLOAD | RTLD_NODELETE);
  (void)handle;
}

}  // namespace
#endif

void parallel_columns(int64_t columns, int64_t block,
                      const std::function<void(int64_t, int64_t)>& body) {
  const int64_t blocks = (columns + block - 1) / block;
  auto run = [&](int64_t first, int64_t last) {
    for (int64_t b = first; b < last; ++b) body(b * block, std::min(columns, (b + 1) * block));
  };
#ifdef LMF_QUANT_HAVE_TBB
  if (blocks > 1) {
    keep_tbb_loaded();
    tbb::parallel_for(
        tbb::blocked_range<int64_t>(0, blocks),
        [&](const tbb::blocked_range<int64_t>& range) { run(range.begin(), range.end()); });
    return;
  }
#endif
  run(0, blocks);
}

}  // namespace lmf::quant
