/* lmforge plugin ABI — data sources: streams of records (documents, rows, dialogues).
 *
 * A data source reads its inputs (files, folders, globs named in its config), applies its
 * configured cleaning stages, and yields records in a deterministic order, whatever the
 * number of threads it uses inside. It never holds a whole corpus in memory.
 * Threading: one instance is used by one thread at a time.
 */
#ifndef LMF_DATA_SOURCE_H
#define LMF_DATA_SOURCE_H

#include "lmf_plugin.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct lmf_record {
  uint32_t struct_size; /* since 1.0 */
  /* since 1.0: position in the source's deterministic order, counting every input record,
   * kept or dropped, so that `seek(id)` resumes exactly after a record. */
  uint64_t id;
  lmf_str_view text;   /* since 1.0: the record's text (UTF-8) after cleaning */
  /* since 1.0: structured payload as a JSON object (e.g. {"messages":[...]} or
   * {"prompt":...,"response":...}) when the source keeps structure; empty otherwise. */
  lmf_str_view fields_json;
  lmf_str_view origin; /* since 1.0: where it came from, "file:line" */
} lmf_record;

typedef struct lmf_record_batch {
  uint32_t struct_size; /* since 1.0 */
  size_t count;         /* since 1.0: 0 only at the end of the stream */
  const lmf_record* const* records; /* since 1.0 */
} lmf_record_batch;

typedef struct lmf_data_source_vtable {
  uint32_t struct_size; /* since 1.0 */
  /* since 1.0: the next batch of at most `max_records` records. The batch and everything it
   * points to are owned by the instance and stay valid until the next call to next_batch,
   * seek or destroy. At the end of the stream `*out` has count 0. */
  lmf_status_t* (*next_batch)(lmf_instance_t* source, size_t max_records,
                              const lmf_record_batch** out);
  /* since 1.0, optional: the next batch starts at the first record whose id >= `record_id`
   * (resume after an interruption). */
  lmf_status_t* (*seek)(lmf_instance_t* source, uint64_t record_id);
  /* since 1.0: a JSON report of what was read, kept, changed and dropped, per stage and
   * reason ({"records_in":…, "records_out":…, "stages":[…]}); host frees `*out`. */
  lmf_status_t* (*report)(lmf_instance_t* source, lmf_string* out);
} lmf_data_source_vtable;

#ifdef __cplusplus
}
#endif

#endif /* LMF_DATA_SOURCE_H */
