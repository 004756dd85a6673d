#pragma once
// HTTP/1.1 response serialisation. Beast parses requests; responses are written as one
// contiguous buffer, which is much cheaper than Beast's generic serializer for the small,
// complete responses an API sends.

#include "http/message.hpp"

#include <string>

namespace chatd::http {

// Appends the status line, every header (the fields, then the lines of `extra_head`) and
// (unless `head_only`) the body to `out`.
// The response must already carry Content-Length (Pipeline::finish sets it).
void serialize_response(const Response& res, bool head_only, std::string& out);

}  // namespace chatd::http
