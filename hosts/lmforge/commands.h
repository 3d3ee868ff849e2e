// The subcommands of `lmforge`; each takes the words after its name and returns an exit code.
#pragma once

#include <string>
#include <vector>

namespace lmf::cli {

using Args = std::vector<std::string>;

int plugins_list(const Args& args);
int plugins_inspect(const Args& args);
int config_check(const Args& args);
int run(const Args& args);
int plan(const Args& args);
int data_prepare(const Args& args);
int tokenizer_train(const Args& args);
int generate(const Args& args);
int eval(const Args& args);
int train(const Args& args);
int quantize(const Args& args);
int version(const Args& args);

}  // namespace lmf::cli
