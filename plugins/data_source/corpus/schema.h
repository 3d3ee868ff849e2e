// The JSON Schemas of the three components' configurations (docs/data.md describes each
// field). The host validates a config against its schema and fills in the defaults
// before `create`.
#pragma once

namespace lmf::data {

const char* jsonl_schema();
const char* text_schema();
const char* csv_schema();

}  // namespace lmf::data
