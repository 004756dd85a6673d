// The settings checked against the file system: CHATD_PROVIDERS_FILE must be a regular file
// chatd can read, and in production SQLite must not live on a network path or a network file
// system (/proc/mounts says which), where its locking is unreliable and a database can be
// corrupted. (The data directory itself is created at start-up, by app/startup.cpp.)

#include "config/detail.hpp"

#include <climits>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <sys/stat.h>
#include <system_error>

namespace chatd::config::detail {

namespace {

// strerror is not thread-safe; this is.
std::string errno_text(int err) { return std::error_code(err, std::generic_category()).message(); }

bool is_network_fs(std::string_view type) {
  static constexpr std::string_view kTypes[] = {
      "nfs", "nfs4", "cifs", "smb",       "smb2",           "smb3",   "smbfs", "fuse.sshfs", "sshfs",
      "9p",  "afs",  "ceph", "glusterfs", "fuse.glusterfs", "lustre", "ncpfs", "davfs",      "fuse.rclone"};
  return std::find(std::begin(kTypes), std::end(kTypes), type) != std::end(kTypes);
}

// /proc/mounts escapes ' ', '\t', '\n' and '\\' as octal.
std::string unescape_mount_path(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    auto octal = [&](std::size_t j) { return j < s.size() && s[j] >= '0' && s[j] <= '7'; };
    if (s[i] == '\\' && octal(i + 1) && octal(i + 2) && octal(i + 3)) {
      out += static_cast<char>((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0'));
      i += 3;
    } else {
      out += s[i];
    }
  }
  return out;
}

// The absolute, symlink-free form of `path` as far as it exists (the file itself may not exist
// yet), with the rest appended unchanged.
std::string absolute_path(const std::string& path) {
  std::string abs = path;
  char buf[PATH_MAX];
  if ((abs.empty() || abs.front() != '/') && ::getcwd(buf, sizeof buf) != nullptr) abs = std::string(buf) + "/" + abs;
  std::string head = abs;
  std::string tail;
  while (true) {
    if (::realpath(head.c_str(), buf) != nullptr) {
      std::string resolved(buf);
      if (!tail.empty()) resolved += (resolved.back() == '/' ? "" : "/") + tail;
      return resolved;
    }
    auto slash = head.rfind('/');
    if (slash == std::string::npos || head == "/") return abs;
    std::string last = head.substr(slash + 1);
    tail = tail.empty() ? last : last.append("/").append(tail);
    head = slash == 0 ? "/" : head.substr(0, slash);
  }
}

// The network filesystem type `path` lives on, if any: the last longest mount point that is a
// prefix of the path decides (later lines of /proc/mounts stack over earlier ones).
std::optional<std::string> network_fs_of(const std::string& path, std::string_view mounts) {
  if (mounts.empty()) return std::nullopt;
  std::string abs = absolute_path(path);
  std::size_t best_len = 0;
  std::string best_type;
  bool found = false;
  while (!mounts.empty()) {
    auto nl = mounts.find('\n');
    std::string_view line = mounts.substr(0, nl);
    mounts.remove_prefix(nl == std::string_view::npos ? mounts.size() : nl + 1);
    auto sp1 = line.find(' ');
    if (sp1 == std::string_view::npos) continue;
    auto sp2 = line.find(' ', sp1 + 1);
    if (sp2 == std::string_view::npos) continue;
    auto sp3 = line.find(' ', sp2 + 1);
    std::string mount_point = unescape_mount_path(line.substr(sp1 + 1, sp2 - sp1 - 1));
    std::string_view type =
        line.substr(sp2 + 1, sp3 == std::string_view::npos ? std::string_view::npos : sp3 - sp2 - 1);
    bool under = mount_point == "/" ||
                 (abs.starts_with(mount_point) && (abs.size() == mount_point.size() || abs[mount_point.size()] == '/'));
    if (under && mount_point.size() >= best_len) {
      best_len = mount_point.size();
      best_type.assign(type);
      found = true;
    }
  }
  if (found && is_network_fs(best_type)) return best_type;
  return std::nullopt;
}

}  // namespace

void parse_providers_file(Field& f, Config& c) {
  std::string path(f.value);
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return f.fail("cannot be opened (" + errno_text(errno) + ")");
  if (!S_ISREG(st.st_mode)) return f.fail("is not a regular file");
  if (::access(path.c_str(), R_OK) != 0) return f.fail("cannot be read (" + errno_text(errno) + ")");
  c.providers_file = std::move(path);
}

void check_sqlite_location(const Config& c, const Sources& sources, Checker& k) {
  if (!c.is_sqlite() || !k.ok("CHATD_DATABASE_URL")) return;
  std::string path = c.sqlite_path();
  if (path.starts_with("//") || path.starts_with("\\\\")) {
    k.problem("CHATD_DATABASE_URL", "SQLite on a network path can corrupt the database; use a local disk or PostgreSQL",
              c.database_url);
  } else if (auto fs = network_fs_of(path, sources.proc_mounts)) {
    k.problem("CHATD_DATABASE_URL",
              "SQLite on a network filesystem (" + *fs + ") can corrupt the database; use a local disk or PostgreSQL",
              c.database_url);
  }
}

}  // namespace chatd::config::detail
