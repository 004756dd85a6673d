#pragma once
// Awaiting blocking work from a coroutine on a network thread: the callable runs on a
// WorkerPool and the coroutine resumes on its own executor with the result. When the
// pool's queue is full the coroutine resumes at once with Code::unavailable (503).

#include "core/result.hpp"
#include "core/worker_pool.hpp"

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <optional>
#include <type_traits>

namespace chatd {

namespace detail {
template <class T>
struct AsResult {
  using type = Result<T>;
};
template <class T>
struct AsResult<Result<T>> {
  using type = Result<T>;
};
}  // namespace detail

// F returns T or Result<T>; the coroutine gets Result<T>.
template <class F>
auto run_blocking(WorkerPool& pool, F fn)
    -> boost::asio::awaitable<typename detail::AsResult<std::invoke_result_t<F&>>::type> {
  using R = typename detail::AsResult<std::invoke_result_t<F&>>::type;
  // The completion carries a heap cell so the value type need not be default-constructible.
  using Cell = std::unique_ptr<std::optional<R>>;
  Cell cell = co_await boost::asio::async_initiate<decltype(boost::asio::use_awaitable), void(Cell)>(
      [&pool, fn = std::move(fn)](auto handler) mutable {
        auto ex = boost::asio::get_associated_executor(handler);
        auto shared = std::make_shared<decltype(handler)>(std::move(handler));
        bool queued = pool.try_submit([shared, ex, fn = std::move(fn)]() mutable {
          auto out = std::make_unique<std::optional<R>>();
          try {
            out->emplace(fn());
          } catch (const std::exception& e) {
            out->emplace(internal_error(std::string("blocking task threw: ") + e.what()));
          }
          boost::asio::post(ex, [shared, out = std::move(out)]() mutable { (*shared)(std::move(out)); });
        });
        if (!queued) {
          auto out = std::make_unique<std::optional<R>>(
              fail(Code::unavailable, "the server is busy, try again shortly"));
          boost::asio::post(ex, [shared, out = std::move(out)]() mutable { (*shared)(std::move(out)); });
        }
      },
      boost::asio::use_awaitable);
  co_return std::move(**cell);
}

}  // namespace chatd
