#pragma once
// From a service's Result to the response, in one place: an error becomes the contract's
// problem document (http::error_response; the pipeline turns it into OpenAI's error shape on
// /v1), a value becomes what the handler makes of it.

#include "core/result.hpp"
#include "http/message.hpp"
#include "http/problem.hpp"

#include <nlohmann/json.hpp>

#include <type_traits>
#include <utility>

namespace chatd::api {

// Whether `make` is called with the value of a Result<T> (else with nothing).
template <class T, class Make>
constexpr bool takes_value() {
  if constexpr (std::is_void_v<T>)
    return false;
  else
    return std::is_invocable_v<Make, T&&>;
}

// The error of `result`, or `make(value)` (`make()` for a Status, or when the value does
// not matter to the answer).
template <class T, class Make>
http::Response reply(http::Context& ctx, Result<T>&& result, Make&& make) {
  if (!result) return http::error_response(ctx, result.error());
  if constexpr (takes_value<T, Make>())
    return std::forward<Make>(make)(std::move(result).value());
  else
    return std::forward<Make>(make)();
}

// The error of `result`, or `status` with the JSON `to_json(value)`.
template <class T, class ToJson>
http::Response reply_json(http::Context& ctx, http::bhttp::status status, Result<T>&& result, ToJson&& to_json) {
  return reply(ctx, std::move(result),
               [&](auto&& value) { return http::json_response(status, std::forward<ToJson>(to_json)(value)); });
}

// The error of `result`, or 204 No Content (whatever its value).
template <class T>
http::Response reply_no_content(http::Context& ctx, Result<T>&& result) {
  if (!result) return http::error_response(ctx, result.error());
  return http::empty_response(http::bhttp::status::no_content);
}

}  // namespace chatd::api
