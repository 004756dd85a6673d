#pragma once
// Percent-decoding (RFC 3986 section 2.1) for path segments, query values and URL userinfo.
// A '%' not followed by two hex digits is kept as it is.

#include <string>
#include <string_view>

namespace chatd {

// With `plus_as_space` (form-encoded query values) a '+' reads as a space.
std::string percent_decode(std::string_view s, bool plus_as_space = false);

}  // namespace chatd
