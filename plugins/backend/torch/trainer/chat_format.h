// Turning prompt/response records and chat `messages` into the text a model of a given
// family was trained on, split into what the loss sees (assistant turns) and what it
// does not (system, user, the template's markup). Note [Chat templates].
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace lmf::torch_backend {

// Note [Chat templates]: Hugging Face models carry a Jinja template in
// tokenizer_config.json; we do not run Jinja. The families lmforge trains have fixed,
// well-known layouts, reproduced here and chosen from the template's markers:
//   chatml   (Qwen2/2.5): <|im_start|>role\n…<|im_end|>\n
//   llama3   (Llama-3.x): <|start_header_id|>role<|end_header_id|>\n\n…<|eot_id|>
//   deepseek (DeepSeek-R1-Distill-*): <｜begin▁of▁sentence｜>system<｜User｜>…<｜Assistant｜>…<｜end▁of▁sentence｜>
//   plain    (models without a template, e.g. the quickstart's): "Question: …\nAnswer: …" + eos
// The special tokens are written as text; the tokenizer recognises them as added tokens.
enum class ChatTemplate { plain, chatml, llama3, deepseek };

ChatTemplate parse_chat_template(const std::string& name);  // plain | chatml | llama3 | deepseek
// "auto": from the model folder's tokenizer_config.json chat_template, plain when absent.
ChatTemplate detect_chat_template(const std::string& model_folder);
std::string chat_template_name(ChatTemplate kind);

struct ChatSegment {
  std::string text;
  bool trained;  // the loss counts these tokens (assistant turns and their end marker)
};

struct ChatMessage {
  std::string role;  // system | user | assistant
  std::string content;
};

// The segments of a conversation. `eos_text` ends an assistant turn in the plain
// template. Throws (naming `origin`) for an unknown role or a conversation that does not
// end with an assistant turn.
std::vector<ChatSegment> render_chat(ChatTemplate kind, const std::vector<ChatMessage>& messages,
                                     const std::string& eos_text, const std::string& origin);

// A prompt rendered up to where the assistant's answer begins (for generation).
std::string render_prompt(ChatTemplate kind, const std::vector<ChatMessage>& messages);

// The messages of one JSON record: {"messages": [{"role","content"}…]} or
// {"prompt": …, "response": …} (optionally "system"). Throws naming `origin`.
std::vector<ChatMessage> record_messages(const nlohmann::json& record, const std::string& origin);

}  // namespace lmf::torch_backend
