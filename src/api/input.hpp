#pragma once
// Reading request bodies field by field: wrong types, missing required fields and
// oversized values become one 422 with an entry per field.

#include "core/result.hpp"

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <vector>

namespace chatd::api {

class BodyReader {
 public:
  explicit BodyReader(const nlohmann::json& body) : body_(body) {}

  std::string required_string(const char* field, std::size_t max_bytes = 1024);
  std::optional<std::string> optional_string(const char* field, std::size_t max_bytes = 1024);

  // A field whose value is of the right type but not acceptable.
  void reject(const char* field, std::string message) { errors_.push_back({field, std::move(message)}); }

  // The collected field errors as one validation error, or success.
  Status finish();

 private:
  const nlohmann::json& body_;
  std::vector<FieldError> errors_;
};

}  // namespace chatd::api
