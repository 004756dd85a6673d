// Where the real settings come from: the process environment, ./.env and /proc/mounts.

#include "config/config.hpp"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <system_error>
#include <thread>

extern char** environ;  // NOLINT: POSIX

namespace chatd::config {

namespace {

constexpr std::size_t kMaxFileBytes = 1 << 20;  // a .env or /proc/mounts larger than this is not one

// The whole file, or nullopt with errno set. ENOENT means the file does not exist.
std::optional<std::string> read_file(const char* path) {
  int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  std::string out;
  char buf[8192];
  while (true) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      int saved = errno;
      ::close(fd);
      errno = saved;
      return std::nullopt;
    }
    if (n == 0) break;
    out.append(buf, static_cast<std::size_t>(n));
    if (out.size() > kMaxFileBytes) {
      ::close(fd);
      errno = EFBIG;
      return std::nullopt;
    }
  }
  ::close(fd);
  return out;
}

}  // namespace

Sources system_sources() {
  Sources sources;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string_view entry(*e);
    auto eq = entry.find('=');
    if (eq == std::string_view::npos || eq == 0) continue;
    sources.env.emplace(std::string(entry.substr(0, eq)), std::string(entry.substr(eq + 1)));
  }
  if (auto text = read_file(".env")) {
    sources.dotenv = std::move(*text);
  } else if (errno != ENOENT) {
    sources.dotenv_error = std::error_code(errno, std::generic_category()).message();  // strerror is not thread-safe
  }
  if (auto mounts = read_file("/proc/mounts")) sources.proc_mounts = std::move(*mounts);
  sources.hardware_threads = std::max(1u, std::thread::hardware_concurrency());
  return sources;
}

}  // namespace chatd::config
