#include "core/data/shard_writer.h"

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <system_error>

namespace lmf::data {
namespace fs = std::filesystem;

void ShardWriter::FileCloser::operator()(std::FILE* file) const noexcept {
  if (file != nullptr) std::fclose(file);
}

ShardWriter::ShardWriter(const fs::path& folder, std::string name, uint64_t vocab_size)
    : folder_(folder),
      name_(std::move(name)),
      vocab_size_(vocab_size),
      token_bytes_(token_bytes_for(vocab_size)),
      partial_tokens_(folder / (name_ + ".tokens.partial")) {
  fs::create_directories(folder_);
  tokens_file_.reset(std::fopen(partial_tokens_.c_str(), "wb"));
  if (!tokens_file_)
    throw std::runtime_error("cannot create " + partial_tokens_.string() + ": " + std::strerror(errno));
}

ShardWriter::~ShardWriter() {
  if (!finished_) {
    tokens_file_.reset();
    std::error_code ignored;
    fs::remove(partial_tokens_, ignored);
  }
}

void ShardWriter::write(const void* data, size_t bytes, const fs::path& file) {
  if (bytes != 0 && std::fwrite(data, 1, bytes, tokens_file_.get()) != bytes)
    throw std::runtime_error("cannot write " + file.string() + ": " + std::strerror(errno));
}

void ShardWriter::append(std::span<const int32_t> ids, uint64_t record_id) {
  buffer_.resize(ids.size() * token_bytes_);
  for (size_t i = 0; i < ids.size(); ++i) {
    const int32_t id = ids[i];
    if (id < 0 || static_cast<uint64_t>(id) >= vocab_size_)
      throw std::invalid_argument("record " + std::to_string(record_id) + ": token id " +
                                  std::to_string(id) + " is outside the vocabulary (size " +
                                  std::to_string(vocab_size_) + ")");
    // Little-endian whatever the host, so shards move between machines.
    for (uint32_t b = 0; b < token_bytes_; ++b)
      buffer_[i * token_bytes_ + b] = static_cast<unsigned char>(static_cast<uint32_t>(id) >> (8 * b));
  }
  write(buffer_.data(), buffer_.size(), partial_tokens_);
  tokens_ += ids.size();
  offsets_.push_back(tokens_);
  record_ids_.push_back(record_id);
}

ShardInfo ShardWriter::finish() {
  if (std::fflush(tokens_file_.get()) != 0)
    throw std::runtime_error("cannot write " + partial_tokens_.string() + ": " + std::strerror(errno));
  tokens_file_.reset();

  const fs::path partial_index = folder_ / (name_ + ".index.partial");
  {
    std::unique_ptr<std::FILE, FileCloser> index(std::fopen(partial_index.c_str(), "wb"));
    if (!index)
      throw std::runtime_error("cannot create " + partial_index.string() + ": " + std::strerror(errno));
    IndexHeader header{};
    std::memcpy(header.magic, kIndexMagic, sizeof header.magic);
    header.version = kIndexVersion;
    header.token_bytes = token_bytes_;
    header.documents = record_ids_.size();
    header.tokens = tokens_;
    header.vocab_size = vocab_size_;
    const bool written =
        std::fwrite(&header, sizeof header, 1, index.get()) == 1 &&
        std::fwrite(offsets_.data(), sizeof(uint64_t), offsets_.size(), index.get()) == offsets_.size() &&
        // An empty shard has no record ids, and fwrite's pointer must not be null.
        (record_ids_.empty() ||
         std::fwrite(record_ids_.data(), sizeof(uint64_t), record_ids_.size(), index.get()) ==
             record_ids_.size()) &&
        std::fflush(index.get()) == 0;
    if (!written)
      throw std::runtime_error("cannot write " + partial_index.string() + ": " + std::strerror(errno));
  }
  // The index last: a .tokens without its .index is never read.
  fs::rename(partial_tokens_, folder_ / (name_ + ".tokens"));
  fs::rename(partial_index, folder_ / (name_ + ".index"));
  finished_ = true;
  return {name_, record_ids_.size(), tokens_};
}

}  // namespace lmf::data
