#include "api/input.hpp"

namespace chatd::api {

std::string BodyReader::required_string(const char* field, std::size_t max_bytes) {
  auto it = body_.find(field);
  if (it == body_.end() || it->is_null()) {
    errors_.push_back({field, "is required"});
    return {};
  }
  auto value = optional_string(field, max_bytes);
  if (value && value->empty()) errors_.push_back({field, "must not be empty"});
  return value.value_or(std::string());
}

std::optional<std::string> BodyReader::optional_string(const char* field, std::size_t max_bytes) {
  auto it = body_.find(field);
  if (it == body_.end() || it->is_null()) return std::nullopt;
  if (!it->is_string()) {
    errors_.push_back({field, "must be a string"});
    return std::nullopt;
  }
  const auto& s = it->get_ref<const std::string&>();
  if (s.size() > max_bytes) {
    errors_.push_back({field, "is too long (at most " + std::to_string(max_bytes) + " bytes)"});
    return std::nullopt;
  }
  return s;
}

Status BodyReader::finish() {
  if (errors_.empty()) return ok();
  return Error::validation(std::move(errors_));
}

}  // namespace chatd::api
