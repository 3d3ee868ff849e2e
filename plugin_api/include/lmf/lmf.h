/* lmforge plugin ABI — everything (docs/plugin-abi.md is the contract). */
#ifndef LMF_H
#define LMF_H

#include "lmf_types.h"
#include "lmf_host.h"
#include "lmf_plugin.h"
#include "lmf_data_source.h"
#include "lmf_tokenizer.h"
#include "lmf_parallel.h"
#include "lmf_quantizer.h"
#include "lmf_backend.h"
#include "lmf_frontend.h"

#endif /* LMF_H */
