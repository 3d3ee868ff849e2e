#include "chat_format.h"

#include <lmf/sdk/error.h>

#include <filesystem>
#include <fstream>

namespace lmf::torch_backend {
namespace {

using nlohmann::json;

[[noreturn]] void bad(const std::string& origin, const std::string& what) {
  sdk::fail(LMF_ERR_DATA, origin + ": " + what);
}

// The markup around one message: what comes before and after its content.
struct Turn {
  std::string before, after;
};

Turn turn(ChatTemplate kind, const std::string& role, const std::string& eos_text) {
  switch (kind) {
    case ChatTemplate::chatml:
      return {"<|im_start|>" + role + "\n", "<|im_end|>\n"};
    case ChatTemplate::llama3:
      return {"<|start_header_id|>" + role + "<|end_header_id|>\n\n", "<|eot_id|>"};
    case ChatTemplate::deepseek:
      if (role == "user") return {"<｜User｜>", ""};
      if (role == "assistant") return {"<｜Assistant｜>", "<｜end▁of▁sentence｜>"};
      return {"", ""};
    case ChatTemplate::plain:
      if (role == "user") return {"Question: ", "\n"};
      if (role == "assistant") return {"Answer: ", eos_text + "\n"};
      return {"", "\n\n"};
  }
  return {};
}

std::string preamble(ChatTemplate kind) {
  if (kind == ChatTemplate::llama3) return "<|begin_of_text|>";
  if (kind == ChatTemplate::deepseek) return "<｜begin▁of▁sentence｜>";
  return "";
}

}  // namespace

ChatTemplate parse_chat_template(const std::string& name) {
  if (name == "plain") return ChatTemplate::plain;
  if (name == "chatml") return ChatTemplate::chatml;
  if (name == "llama3") return ChatTemplate::llama3;
  if (name == "deepseek") return ChatTemplate::deepseek;
  sdk::fail(LMF_ERR_INVALID_ARGUMENT, "chat template \"" + name + "\" is not one of plain, chatml, llama3, deepseek");
}

std::string chat_template_name(ChatTemplate kind) {
  switch (kind) {
    case ChatTemplate::plain: return "plain";
    case ChatTemplate::chatml: return "chatml";
    case ChatTemplate::llama3: return "llama3";
    case ChatTemplate::deepseek: return "deepseek";
  }
  return "plain";
}

ChatTemplate detect_chat_template(const std::string& model_folder) {
  const std::filesystem::path path = std::filesystem::path(model_folder) / "tokenizer_config.json";
  std::ifstream in(path);
  if (!in) return ChatTemplate::plain;
  json config = json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (!config.is_object() || !config.contains("chat_template") || !config["chat_template"].is_string())
    return ChatTemplate::plain;
  const std::string text = config["chat_template"].get<std::string>();
  // DeepSeek's first: its template also mentions other markers in comments of some releases.
  if (text.find("<｜Assistant｜>") != std::string::npos) return ChatTemplate::deepseek;
  if (text.find("<|start_header_id|>") != std::string::npos) return ChatTemplate::llama3;
  if (text.find("<|im_start|>") != std::string::npos) return ChatTemplate::chatml;
  return ChatTemplate::plain;
}

std::vector<ChatSegment> render_chat(ChatTemplate kind, const std::vector<ChatMessage>& messages,
                                     const std::string& eos_text, const std::string& origin) {
  if (messages.empty() || messages.back().role != "assistant")
    bad(origin, "a training conversation must end with an assistant message");
  std::vector<ChatSegment> segments;
  std::string pending = preamble(kind);  // untrained text not yet emitted
  for (const ChatMessage& message : messages) {
    if (message.role != "system" && message.role != "user" && message.role != "assistant")
      bad(origin, "message role \"" + message.role + "\" is not system, user or assistant");
    const Turn t = turn(kind, message.role, eos_text);
    if (message.role == "assistant") {
      segments.push_back({pending + t.before, false});
      segments.push_back({message.content + t.after, true});
      pending.clear();
    } else {
      pending += t.before + message.content + t.after;
    }
  }
  return segments;
}

std::string render_prompt(ChatTemplate kind, const std::vector<ChatMessage>& messages) {
  std::string text = preamble(kind);
  for (const ChatMessage& message : messages) {
    const Turn t = turn(kind, message.role, "");
    text += t.before + message.content + t.after;
  }
  return text + turn(kind, "assistant", "").before;
}

std::vector<ChatMessage> record_messages(const json& record, const std::string& origin) {
  if (!record.is_object()) bad(origin, "a record must be a JSON object");
  auto text_field = [&](const char* field) {
    if (!record.contains(field) || !record[field].is_string())
      bad(origin, std::string("no string field \"") + field + "\"");
    return record[field].get<std::string>();
  };
  std::vector<ChatMessage> messages;
  if (record.contains("messages")) {
    if (!record["messages"].is_array()) bad(origin, "\"messages\" must be a list");
    for (const json& m : record["messages"]) {
      if (!m.is_object() || !m.contains("role") || !m["role"].is_string() || !m.contains("content") ||
          !m["content"].is_string())
        bad(origin, "each message needs string \"role\" and \"content\"");
      messages.push_back({m["role"].get<std::string>(), m["content"].get<std::string>()});
    }
    return messages;
  }
  if (record.contains("system")) messages.push_back({"system", text_field("system")});
  messages.push_back({"user", text_field("prompt")});
  messages.push_back({"assistant", text_field("response")});
  return messages;
}

}  // namespace lmf::torch_backend
