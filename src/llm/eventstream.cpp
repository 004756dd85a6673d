#include "llm/eventstream.hpp"

#include <cstdio>
#include <type_traits>

namespace chatd::llm {
namespace {

constexpr std::array<std::uint32_t, 256> make_crc_table() {
  std::array<std::uint32_t, 256> table{};
  for (std::uint32_t i = 0; i < 256; ++i) {
    std::uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1U) ? (0xEDB88320U ^ (c >> 1)) : (c >> 1);
    table[i] = c;
  }
  return table;
}

constexpr std::array<std::uint32_t, 256> k_crc_table = make_crc_table();

constexpr std::size_t k_prelude_bytes = 12;
constexpr std::size_t k_min_message_bytes = 16;  // prelude + message CRC

std::uint64_t read_be(std::string_view bytes, std::size_t offset, std::size_t width) {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < width; ++i) v = (v << 8) | static_cast<unsigned char>(bytes[offset + i]);
  return v;
}

void write_be(std::string& out, std::uint64_t v, std::size_t width) {
  for (std::size_t i = width; i-- > 0;) out.push_back(static_cast<char>((v >> (8 * i)) & 0xFFU));
}

std::string hex32(std::uint32_t v) {
  char buf[11];
  std::snprintf(buf, sizeof buf, "0x%08x", static_cast<unsigned>(v));
  return buf;
}

// Parses the headers section. Returns the error detail on failure, an empty string on success
// (no exceptions on the data path).
std::string parse_headers(std::string_view h, std::vector<std::pair<std::string, HeaderValue>>& headers) {
  std::size_t pos = 0;
  auto need = [&](std::size_t n) { return h.size() - pos >= n; };
  while (pos < h.size()) {
    const std::size_t name_len = static_cast<unsigned char>(h[pos++]);
    if (name_len == 0) return "empty header name";
    if (!need(name_len + 1)) return "header name runs past the headers section";
    std::string name(h.substr(pos, name_len));
    pos += name_len;
    const unsigned type = static_cast<unsigned char>(h[pos++]);
    HeaderValue value;
    auto fixed = [&](std::size_t width) -> std::optional<std::uint64_t> {
      if (!need(width)) return std::nullopt;
      const std::uint64_t v = read_be(h, pos, width);
      pos += width;
      return v;
    };
    switch (type) {
      case 0: value = true; break;
      case 1: value = false; break;
      case 2: {
        auto v = fixed(1);
        if (!v) return "header value runs past the headers section";
        value = static_cast<std::int8_t>(static_cast<std::uint8_t>(*v));
        break;
      }
      case 3: {
        auto v = fixed(2);
        if (!v) return "header value runs past the headers section";
        value = static_cast<std::int16_t>(static_cast<std::uint16_t>(*v));
        break;
      }
      case 4: {
        auto v = fixed(4);
        if (!v) return "header value runs past the headers section";
        value = static_cast<std::int32_t>(static_cast<std::uint32_t>(*v));
        break;
      }
      case 5:
      case 8: {
        auto v = fixed(8);
        if (!v) return "header value runs past the headers section";
        const auto s = static_cast<std::int64_t>(*v);
        if (type == 5) {
          value = s;
        } else {
          value = EventStreamTimestamp{s};
        }
        break;
      }
      case 6:
      case 7: {
        auto len = fixed(2);
        if (!len || !need(*len)) return "header value runs past the headers section";
        std::string_view bytes = h.substr(pos, *len);
        pos += *len;
        if (type == 6) {
          value = std::vector<std::uint8_t>(bytes.begin(), bytes.end());
        } else {
          value = std::string(bytes);
        }
        break;
      }
      case 9: {
        if (!need(16)) return "header value runs past the headers section";
        EventStreamUuid u;
        for (std::size_t i = 0; i < 16; ++i) u.bytes[i] = static_cast<std::uint8_t>(h[pos + i]);
        pos += 16;
        value = u;
        break;
      }
      default: return "unknown header value type " + std::to_string(type);
    }
    headers.emplace_back(std::move(name), std::move(value));
  }
  return {};
}

}  // namespace

std::uint32_t crc32(std::string_view data, std::uint32_t crc) {
  crc = ~crc;
  for (const char ch : data) crc = k_crc_table[(crc ^ static_cast<unsigned char>(ch)) & 0xFFU] ^ (crc >> 8);
  return ~crc;
}

std::optional<std::string> EventStreamMessage::header_string(std::string_view name) const {
  for (const auto& [n, v] : headers) {
    if (n != name) continue;
    if (const auto* s = std::get_if<std::string>(&v)) return *s;
    return std::nullopt;
  }
  return std::nullopt;
}

EventStreamDecoder::EventStreamDecoder(std::size_t max_message_bytes) : max_message_bytes_(max_message_bytes) {}

Status EventStreamDecoder::fail_with(std::string detail) {
  failed_ = Error::make(Code::upstream, "upstream event stream is malformed: " + std::move(detail));
  buffer_.clear();
  buffer_.shrink_to_fit();
  return *failed_;
}

Status EventStreamDecoder::feed(std::string_view chunk, std::vector<EventStreamMessage>& out) {
  if (failed_) return *failed_;
  buffer_.append(chunk);
  std::string_view rest = buffer_;
  while (rest.size() >= k_prelude_bytes) {
    const auto total = static_cast<std::uint32_t>(read_be(rest, 0, 4));
    const auto headers_len = static_cast<std::uint32_t>(read_be(rest, 4, 4));
    const auto prelude_crc = static_cast<std::uint32_t>(read_be(rest, 8, 4));
    // Verify the prelude before trusting its lengths: a corrupted length would otherwise make us
    // wait for (and buffer) bytes that never form a message.
    const std::uint32_t actual_prelude_crc = crc32(rest.substr(0, 8));
    if (actual_prelude_crc != prelude_crc) {
      return fail_with("prelude CRC mismatch (expected " + hex32(prelude_crc) + ", computed " +
                       hex32(actual_prelude_crc) + ")");
    }
    if (total < k_min_message_bytes) {
      return fail_with("message length " + std::to_string(total) + " is below the minimum of 16");
    }
    if (total > max_message_bytes_) {
      return fail_with("message length " + std::to_string(total) + " exceeds the limit of " +
                       std::to_string(max_message_bytes_));
    }
    if (headers_len > total - k_min_message_bytes) {
      return fail_with("headers length " + std::to_string(headers_len) + " does not fit a message of " +
                       std::to_string(total) + " bytes");
    }
    if (rest.size() < total) break;  // wait for the rest of this message
    const std::string_view message = rest.substr(0, total);
    const auto message_crc = static_cast<std::uint32_t>(read_be(message, total - 4, 4));
    const std::uint32_t actual_message_crc = crc32(message.substr(0, total - 4));
    if (actual_message_crc != message_crc) {
      return fail_with("message CRC mismatch (expected " + hex32(message_crc) + ", computed " +
                       hex32(actual_message_crc) + ")");
    }
    EventStreamMessage msg;
    if (std::string err = parse_headers(message.substr(k_prelude_bytes, headers_len), msg.headers); !err.empty()) {
      return fail_with(std::move(err));
    }
    msg.payload.assign(message.substr(k_prelude_bytes + headers_len, total - k_min_message_bytes - headers_len));
    out.push_back(std::move(msg));
    rest.remove_prefix(total);
  }
  // Erase consumed bytes once per feed rather than once per message.
  buffer_.erase(0, buffer_.size() - rest.size());
  return ok();
}

Status EventStreamDecoder::finish() const {
  if (failed_) return *failed_;
  if (!buffer_.empty()) {
    return fail(Code::upstream, "upstream event stream ended inside a message (" + std::to_string(buffer_.size()) +
                                    " bytes left over)");
  }
  return ok();
}

std::string encode_event_stream_message(const EventStreamMessage& message) {
  std::string headers;
  for (const auto& [name, value] : message.headers) {
    if (name.empty() || name.size() > 255) return {};
    headers.push_back(static_cast<char>(name.size()));
    headers.append(name);
    bool encodable = true;
    std::visit(
        [&](const auto& v) {
          using T = std::decay_t<decltype(v)>;
          if constexpr (std::is_same_v<T, bool>) {
            headers.push_back(static_cast<char>(v ? 0 : 1));
          } else if constexpr (std::is_same_v<T, std::int8_t>) {
            headers.push_back(2);
            write_be(headers, static_cast<std::uint8_t>(v), 1);
          } else if constexpr (std::is_same_v<T, std::int16_t>) {
            headers.push_back(3);
            write_be(headers, static_cast<std::uint16_t>(v), 2);
          } else if constexpr (std::is_same_v<T, std::int32_t>) {
            headers.push_back(4);
            write_be(headers, static_cast<std::uint32_t>(v), 4);
          } else if constexpr (std::is_same_v<T, std::int64_t>) {
            headers.push_back(5);
            write_be(headers, static_cast<std::uint64_t>(v), 8);
          } else if constexpr (std::is_same_v<T, std::vector<std::uint8_t>> || std::is_same_v<T, std::string>) {
            if (v.size() > 0xFFFF) {
              encodable = false;
              return;
            }
            headers.push_back(std::is_same_v<T, std::string> ? 7 : 6);
            write_be(headers, v.size(), 2);
            headers.append(v.begin(), v.end());
          } else if constexpr (std::is_same_v<T, EventStreamTimestamp>) {
            headers.push_back(8);
            write_be(headers, static_cast<std::uint64_t>(v.ms_since_epoch), 8);
          } else {
            static_assert(std::is_same_v<T, EventStreamUuid>);
            headers.push_back(9);
            headers.append(v.bytes.begin(), v.bytes.end());
          }
        },
        value);
    if (!encodable) return {};
  }
  const std::size_t total = k_min_message_bytes + headers.size() + message.payload.size();
  if (total > 0xFFFFFFFFU) return {};  // the length field is 32 bits
  std::string out;
  out.reserve(total);
  write_be(out, total, 4);
  write_be(out, headers.size(), 4);
  write_be(out, crc32(out), 4);
  out.append(headers);
  out.append(message.payload);
  write_be(out, crc32(out), 4);
  return out;
}

}  // namespace chatd::llm
