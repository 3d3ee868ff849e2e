// The readable report of `lmforge plan`.
#pragma once

#include "core/planner/planner.h"

#include <ostream>

namespace lmf::planner {

void write_table(std::ostream& out, const Plan& plan);

// The presets and the GPU catalog as lists (--list-models, --list-gpus).
void write_model_list(std::ostream& out);
void write_gpu_list(std::ostream& out, const GpuCatalog& catalog);

}  // namespace lmf::planner
