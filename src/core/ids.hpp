#pragma once
// Identifiers: UUIDv7 (RFC 9562), time-ordered so that indexes stay compact, with 74
// random bits so that ids cannot be guessed or enumerated.

#include <cstdint>
#include <string>

namespace chatd {

// Canonical 36-character lowercase form, e.g. "01935b8e-8f7a-7c3e-9b1d-3f0a2c4d5e6f".
std::string new_uuid_v7(std::int64_t epoch_ms);
std::string new_uuid_v7();

// True for the canonical lowercase or uppercase 8-4-4-4-12 hex form.
bool is_uuid(const std::string& text);

}  // namespace chatd
