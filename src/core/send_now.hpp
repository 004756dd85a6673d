#pragma once
// Writing to a socket without waiting. An asynchronous write that completes at once still
// hands its completion to the event loop, which resumes the writer on its next turn: a trip
// through the loop (and an epoll_wait) per write. A small answer fits in the socket's send
// buffer, so it is sent here at once and only what the socket did not take is written
// asynchronously.

#include <cstddef>
#include <string_view>

namespace chatd {

// Sends what of `data` the socket `fd` takes now (non-blocking, no SIGPIPE) and returns how
// much that was: 0 when it takes nothing now or the send fails (the asynchronous write of the
// rest then meets the error and reports it).
std::size_t send_now(int fd, std::string_view data);

}  // namespace chatd
