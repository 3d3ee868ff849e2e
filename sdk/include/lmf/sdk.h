// lmforge SDK — everything a plugin author includes (docs/writing-a-plugin.md).
#pragma once

#include <lmf/sdk/backend.h>
#include <lmf/sdk/component.h>
#include <lmf/sdk/data_source.h>
#include <lmf/sdk/error.h>
#include <lmf/sdk/frontend.h>
#include <lmf/sdk/host.h>
#include <lmf/sdk/parallel.h>
#include <lmf/sdk/quantizer.h>
#include <lmf/sdk/tensor.h>
#include <lmf/sdk/tokenizer.h>
