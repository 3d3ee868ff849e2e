// lmforge-data-corpus: the jsonl, text and csv data sources (docs/data.md).
#include "corpus_source.h"
#include "schema.h"

#include <lmf/sdk/data_source.h>

LMF_PLUGIN(
    "lmforge-data-corpus", "0.1.0", "lmforge",
    "Data sources for jsonl, text and CSV corpora, with cleaning, deduplication and PII masking",
    lmf::sdk::component<lmf::data::JsonlSource>(
        "jsonl", "JSON Lines: a text field, prompt/response pairs or chat messages",
        lmf::data::jsonl_schema()),
    lmf::sdk::component<lmf::data::TextSource>(
        "text", "Plain text files and folders, per file, paragraph or line",
        lmf::data::text_schema()),
    lmf::sdk::component<lmf::data::CsvSource>(
        "csv", "CSV rows (RFC 4180) rendered to text through a template", lmf::data::csv_schema()))
