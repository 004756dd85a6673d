#pragma once
// The parser of an upstream's HTTP response (llm/http_client.cpp): Beast's basic_parser for
// the framing (status line, Content-Length or chunks, keep-alive, the head limit), with the
// header fields kept packed in one string and the body written into a window the caller
// lends, as buffer_body does. Beast's response_parser stores every field in a node of its
// own (an allocation and an ordered insert each), though callers read at most a few of them,
// and none of a 2xx answer.

#include <boost/beast/http/basic_parser.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace chatd::llm {

class UpstreamParser final : public boost::beast::http::basic_parser<false> {
 public:
  // Where the body goes: `data` advances and `size` shrinks as bytes are written. With no
  // room left (or no window), put() stops with error::need_buffer, as with buffer_body.
  struct Window {
    char* data = nullptr;
    std::size_t size = 0;
  };
  Window body;

  int status() const { return status_; }
  // The value of the first field called `name` (case-insensitive), if any.
  std::optional<std::string> header(std::string_view name) const;
  // Drops the fields (header() answers nothing afterwards); framing and keep-alive are kept.
  void release_head() { std::string().swap(fields_); }

 private:
  using error_code = boost::beast::error_code;
  using string_view = boost::beast::string_view;

  void on_request_impl(boost::beast::http::verb, string_view, string_view, int, error_code&) override {}
  void on_response_impl(int code, string_view, int, error_code&) override {
    status_ = code;
    fields_.reserve(kFieldsReserve);  // one allocation for a usual head, not one per doubling
  }
  void on_field_impl(boost::beast::http::field, string_view name, string_view value, error_code&) override;
  void on_header_impl(error_code& ec) override { ec = {}; }
  void on_body_init_impl(const boost::optional<std::uint64_t>&, error_code& ec) override { ec = {}; }
  std::size_t on_body_impl(string_view data, error_code& ec) override { return take(data, ec); }
  void on_chunk_header_impl(std::uint64_t, string_view, error_code& ec) override { ec = {}; }
  std::size_t on_chunk_body_impl(std::uint64_t, string_view data, error_code& ec) override { return take(data, ec); }
  void on_finish_impl(error_code& ec) override { ec = {}; }
  std::size_t take(string_view data, error_code& ec);

  static constexpr std::size_t kFieldsReserve = 512;
  int status_ = 0;
  // Each field as <name length><name><value length><value>, the lengths 4 bytes each.
  std::string fields_;
};

}  // namespace chatd::llm
