// lmforge SDK — the data source kind.
#pragma once

#include <lmf/sdk/component.h>

#include <string>
#include <vector>

namespace lmf::sdk {

struct Record {
  uint64_t id = 0;
  std::string text;
  std::string fields_json;  // empty when the source keeps no structure
  std::string origin;       // "file:line"
};

class DataSource : public Component {
 public:
  using base_type = DataSource;

  // At most `max_records` records; an empty vector at the end of the stream.
  virtual std::vector<Record> next_batch(size_t max_records) = 0;
  virtual void seek(uint64_t record_id) {
    (void)record_id;
    unsupported("seek (resume)");
  }
  virtual Json report() = 0;

 private:
  friend struct KindTraits<DataSource>;
  // The last batch, kept alive until the next call as the ABI promises.
  std::vector<Record> batch_;
  std::vector<lmf_record> c_records_;
  std::vector<const lmf_record*> c_pointers_;
  lmf_record_batch c_batch_{};
};

template <>
struct KindTraits<DataSource> {
  static constexpr lmf_kind kind = LMF_KIND_DATA_SOURCE;
  static DataSource* self(lmf_instance_t* instance) { return detail::self<DataSource>(instance); }

  static lmf_status_t* next_batch(lmf_instance_t* s, size_t max_records,
                                  const lmf_record_batch** out) noexcept {
    return guard([&] {
      DataSource& source = *self(s);
      source.batch_ = source.next_batch(max_records);
      source.c_records_.clear();
      source.c_pointers_.clear();
      for (const Record& r : source.batch_)
        source.c_records_.push_back(lmf_record{sizeof(lmf_record), r.id, to_view(r.text),
                                               to_view(r.fields_json), to_view(r.origin)});
      for (const lmf_record& r : source.c_records_) source.c_pointers_.push_back(&r);
      source.c_batch_ = {sizeof(lmf_record_batch), source.c_pointers_.size(),
                         source.c_pointers_.data()};
      *out = &source.c_batch_;
    });
  }
  static lmf_status_t* seek(lmf_instance_t* s, uint64_t record_id) noexcept {
    return guard([&] { self(s)->seek(record_id); });
  }
  static lmf_status_t* report(lmf_instance_t* s, lmf_string* out) noexcept {
    return guard([&] { *out = to_owned_string(self(s)->report().dump()); });
  }

  static constexpr lmf_data_source_vtable vtable{sizeof(lmf_data_source_vtable), &next_batch, &seek,
                                                 &report};
};

}  // namespace lmf::sdk
