#pragma once
// Awaiting blocking work from a coroutine on a network thread: the callable runs on a
// WorkerPool and the coroutine resumes on its own executor with the result. When the
// pool's queue is full the coroutine resumes at once with Code::unavailable (503).

#include "core/result.hpp"
#include "core/worker_pool.hpp"

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/executor_work_guard.hpp>
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

// F returns T or Result<T>; the coroutine gets Result<T>. Capture by reference in the
// lambda passed here (the awaiting coroutine's frame outlives the work): GCC 12 destroys
// the by-value captures of a lambda temporary in a co_await expression twice. A plain function (not a
// coroutine) on purpose: GCC 12 mishandles lambdas with init-captures passed by value as
// coroutine parameters, so `fn` goes straight into the initiation instead.
template <class F>
auto run_blocking(WorkerPool& pool, F fn)
    -> boost::asio::awaitable<typename detail::AsResult<std::invoke_result_t<F&>>::type> {
  using R = typename detail::AsResult<std::invoke_result_t<F&>>::type;
  return boost::asio::async_initiate<decltype(boost::asio::use_awaitable), void(R)>(
      [&pool](auto handler, F job) {
        auto ex = boost::asio::get_associated_executor(handler);
        auto shared = std::make_shared<decltype(handler)>(std::move(handler));
        // Outstanding work on the coroutine's io_context until the worker is done with it:
        // the resumed coroutine may finish before post() has returned on the worker, and
        // without the work its io_context's run() could return and the io_context be
        // destroyed under that post().
        auto work = boost::asio::make_work_guard(ex);
        bool queued = pool.try_submit([shared, ex, work = std::move(work), job = std::move(job)]() mutable {
          std::optional<R> out;
          try {
            out.emplace(job());
          } catch (const std::exception& e) {
            out.emplace(internal_error(std::string("blocking task threw: ") + e.what()));
          }
          boost::asio::post(ex, [shared, out = std::move(*out)]() mutable { (*shared)(std::move(out)); });
          shared.reset();
          work.reset();  // the last touch of the io_context from this thread
        });
        if (!queued) {
          R busy = fail(Code::unavailable, "the server is busy, try again shortly");
          busy.error().retry_after_seconds = 1;
          boost::asio::post(ex, [shared, busy = std::move(busy)]() mutable { (*shared)(std::move(busy)); });
        }
      },
      boost::asio::use_awaitable, std::move(fn));
}

}  // namespace chatd
