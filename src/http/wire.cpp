#include "http/wire.hpp"

namespace chatd::http {

void serialize_response(const Response& res, bool head_only, std::string& out) {
  unsigned code = res.result_int();
  std::string_view reason = res.reason();
  if (reason.empty()) reason = bhttp::obsolete_reason(res.result());
  std::size_t size = 32 + reason.size() + res.extra_head.size() + (head_only ? 0 : res.body().size());
  for (const auto& f : res) size += f.name_string().size() + f.value().size() + 4;
  out.reserve(out.size() + size);
  out += "HTTP/1.1 ";
  out += static_cast<char>('0' + code / 100 % 10);
  out += static_cast<char>('0' + code / 10 % 10);
  out += static_cast<char>('0' + code % 10);
  out += ' ';
  out += reason;
  out += "\r\n";
  for (const auto& f : res) {
    out += f.name_string();
    out += ": ";
    out += f.value();
    out += "\r\n";
  }
  out += res.extra_head;
  out += "\r\n";
  if (!head_only) out += res.body();
}

}  // namespace chatd::http
