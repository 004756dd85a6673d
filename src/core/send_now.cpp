#include "core/send_now.hpp"

#include <cerrno>
#include <sys/socket.h>
#include <sys/types.h>

namespace chatd {

std::size_t send_now(int fd, std::string_view data) {
  if (data.empty()) return 0;
  ssize_t n = 0;
  do {
    n = ::send(fd, data.data(), data.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
  } while (n < 0 && errno == EINTR);
  return n > 0 ? static_cast<std::size_t>(n) : 0;
}

}  // namespace chatd
