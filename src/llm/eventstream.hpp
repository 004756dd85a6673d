#pragma once
// AWS event stream framing (application/vnd.amazon.eventstream), which Bedrock ConverseStream uses
// instead of SSE. Each message is self-delimiting and carries two CRC32s, so the decoder can work
// incrementally on whatever chunks the HTTP client hands over and detect corruption early.
//
// Wire format (all integers big-endian):
//   u32 total_length | u32 headers_length | u32 prelude_crc (over the first 8 bytes)
//   headers (headers_length bytes) | payload | u32 message_crc (over everything before it)
// Header: u8 name_length | name | u8 value_type | value.

#include "core/result.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace chatd::llm {

// CRC-32 as in zlib/IEEE 802.3 (reflected polynomial 0xEDB88320). Pass the previous result as `crc`
// to continue over several pieces.
std::uint32_t crc32(std::string_view data, std::uint32_t crc = 0);

struct EventStreamTimestamp {
  std::int64_t ms_since_epoch = 0;
  bool operator==(const EventStreamTimestamp&) const = default;
};

struct EventStreamUuid {
  std::array<std::uint8_t, 16> bytes{};
  bool operator==(const EventStreamUuid&) const = default;
};

// One alternative per wire value type. Alternative index + 1 is the wire type code for every
// alternative except bool, which is type 0 (true) or 1 (false).
using HeaderValue = std::variant<bool,                       // 0, 1
                                 std::int8_t,                // 2 byte
                                 std::int16_t,               // 3 short
                                 std::int32_t,               // 4 int
                                 std::int64_t,               // 5 long
                                 std::vector<std::uint8_t>,  // 6 byte array
                                 std::string,                // 7 string (UTF-8)
                                 EventStreamTimestamp,       // 8 timestamp
                                 EventStreamUuid>;           // 9 uuid

struct EventStreamMessage {
  std::vector<std::pair<std::string, HeaderValue>> headers;  // in wire order; names may repeat
  std::string payload;

  // The value of the first header called `name`, if it exists and is a string (":event-type", ...).
  std::optional<std::string> header_string(std::string_view name) const;

  bool operator==(const EventStreamMessage&) const = default;
};

class EventStreamDecoder {
 public:
  explicit EventStreamDecoder(std::size_t max_message_bytes = 16 << 20);

  // Feeds an arbitrary chunk; complete, verified messages are appended to `out`. Any framing error
  // (CRC mismatch, impossible or oversized lengths, malformed headers) returns Code::upstream and the
  // decoder stays failed: after a bad length there is no way to find the next message boundary.
  Status feed(std::string_view chunk, std::vector<EventStreamMessage>& out);

  // Call at end of stream: an error if a partial message is still buffered (a truncated stream).
  Status finish() const;

 private:
  Status fail_with(std::string detail);

  std::size_t max_message_bytes_;
  std::string buffer_;  // bytes of the next, still incomplete message
  std::optional<Error> failed_;
};

// Encodes one message. Returns an empty string (never a valid message) if a header name is empty or
// longer than 255 bytes, a byte array/string value is longer than 65535 bytes, or the message would
// exceed 4 GiB: the wire format cannot represent them.
std::string encode_event_stream_message(const EventStreamMessage& message);

}  // namespace chatd::llm
