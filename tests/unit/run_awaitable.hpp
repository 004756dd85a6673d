#pragma once
// Drives a coroutine to its end on the calling thread, for unit tests. (Not use_future:
// Result has no default constructor, which it needs.) An exception thrown by the coroutine
// is rethrown here.

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <exception>
#include <optional>
#include <type_traits>
#include <utility>

namespace chatd::unit {

// On `ioc`, which the caller keeps across calls (so that, say, pooled connections stay usable).
template <class T>
T run(boost::asio::io_context& ioc, boost::asio::awaitable<T> task) {
  const auto rethrow = [](const std::exception_ptr& e) {
    if (e) std::rethrow_exception(e);
  };
  ioc.restart();
  if constexpr (std::is_void_v<T>) {
    boost::asio::co_spawn(ioc, std::move(task), rethrow);
    ioc.run();
  } else {
    std::optional<T> out;
    boost::asio::co_spawn(
        ioc, [&]() -> boost::asio::awaitable<void> { out.emplace(co_await std::move(task)); }, rethrow);
    ioc.run();
    return std::move(*out);
  }
}

// On a fresh io_context.
template <class T>
T run(boost::asio::awaitable<T> task) {
  boost::asio::io_context ioc;
  return run(ioc, std::move(task));
}

}  // namespace chatd::unit
