/* lmforge plugin ABI — tokenizers: text <-> token ids, and vocabulary training.
 * Threading: encode, decode, token_to_id, id_to_token and vocab_size may be called from
 * several threads at once on one instance; train and save may not overlap any other call.
 */
#ifndef LMF_TOKENIZER_H
#define LMF_TOKENIZER_H

#include "lmf_plugin.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Flags of encode and decode. */
#define LMF_TOKENIZE_ADD_SPECIAL 1u   /* encode: add the model's bos/eos as its config says */
#define LMF_TOKENIZE_SKIP_SPECIAL 2u  /* decode: leave special tokens out of the text */

/* Ids of a batch of texts, in CSR form: text i is ids[offsets[i] .. offsets[i+1]).
 * Both arrays are host-allocated by the callee and freed by the caller. */
typedef struct lmf_token_batch {
  int32_t* ids;
  size_t* offsets; /* count + 1 entries */
  size_t count;
} lmf_token_batch;

/* A stream of texts to train on, pulled by the tokenizer. `next` returns 1 and sets
 * `*text` (borrowed until the next call), or 0 at the end. */
typedef struct lmf_text_stream {
  void* user;
  int32_t (*next)(void* user, lmf_str_view* text);
} lmf_text_stream;

typedef struct lmf_tokenizer_vtable {
  uint32_t struct_size; /* since 1.0 */
  /* since 1.0: number of ids, special and added tokens included. */
  uint32_t (*vocab_size)(lmf_instance_t* tokenizer);
  /* since 1.0: encodes `count` texts. Invalid UTF-8 is handled as the tokenizer's
   * reference implementation does, never by a crash. */
  lmf_status_t* (*encode)(lmf_instance_t* tokenizer, const lmf_str_view* texts, size_t count,
                          uint32_t flags, lmf_token_batch* out);
  /* since 1.0: decodes ids into text (host-allocated `*out`). */
  lmf_status_t* (*decode)(lmf_instance_t* tokenizer, const int32_t* ids, size_t count,
                          uint32_t flags, lmf_string* out);
  /* since 1.0: the id of a token given by its text (e.g. "<|endoftext|>"); NOT_FOUND. */
  lmf_status_t* (*token_to_id)(lmf_instance_t* tokenizer, lmf_str_view token, int32_t* out);
  /* since 1.0: the text of one token (host-allocated); NOT_FOUND for an unknown id. */
  lmf_status_t* (*id_to_token)(lmf_instance_t* tokenizer, int32_t id, lmf_string* out);
  /* since 1.0, optional: learns a vocabulary from `corpus` with the options in
   * `options_json` (vocab_size, special tokens…), replacing the instance's vocabulary. */
  lmf_status_t* (*train)(lmf_instance_t* tokenizer, lmf_text_stream* corpus,
                         lmf_str_view options_json);
  /* since 1.0, optional: writes the tokenizer's files (e.g. tokenizer.json) into the
   * folder `directory`, created if missing. */
  lmf_status_t* (*save)(lmf_instance_t* tokenizer, lmf_str_view directory);
} lmf_tokenizer_vtable;

#ifdef __cplusplus
}
#endif

#endif /* LMF_TOKENIZER_H */
