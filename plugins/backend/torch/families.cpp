#include "families.h"

#include <lmf/sdk/error.h>

#include <algorithm>

namespace lmf::torch_backend {

const std::vector<const Family*>& families() {
  static const std::vector<const Family*> all{&kLlamaFamily, &kQwen2Family};
  return all;
}

const Family& find_family(const std::string& architecture, const std::string& model_type,
                          const std::string& origin) {
  auto has = [](const std::vector<std::string>& names, const std::string& name) {
    return std::find(names.begin(), names.end(), name) != names.end();
  };
  for (const Family* family : families())
    if ((!architecture.empty() && has(family->architectures, architecture)) ||
        (architecture.empty() && has(family->model_types, model_type)))
      return *family;
  std::string supported;
  for (const Family* family : families())
    for (const std::string& name : family->architectures)
      supported += (supported.empty() ? "" : ", ") + name;
  std::string what = architecture.empty() ? "model_type \"" + model_type + "\""
                                          : "architecture \"" + architecture + "\"";
  sdk::fail(LMF_ERR_UNSUPPORTED,
            origin + ": unsupported " + what + " (this backend runs " + supported + ")");
}

}  // namespace lmf::torch_backend
