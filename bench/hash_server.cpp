// chatd_hash_server: the reference of bench/auth.sh's login rounds, the least a login
// server can do on this machine.
//
//   chatd_hash_server PORT [DATABASE_FILE]
//
// One epoll thread answers HTTP/1.1 on 127.0.0.1:PORT. A POST (any path, any body) is a
// "login": one thread per core checks a fixed password against its Argon2id hash with the
// production parameters (libsodium, m=19 MiB, t=2, niceness 10 like chatd's hashing pool),
// then the network thread answers 200. With DATABASE_FILE, each login also commits one
// session row to SQLite (WAL, synchronous = FULL) on a database thread before the answer,
// the one durable write no login can skip. A GET is answered at once (the /healthz stand-in).
//
// Nothing else: no JSON, no user lookup, no token, no audit row. Whatever chatd's logins/s
// fall short of this server's, measured in the same minutes, is chatd's own cost; what this
// server falls short of cores / single-hash time is the machine's.

#include <sodium.h>
#include <sqlite3.h>
#include <unistd.h>

#include <array>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <mutex>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string>
#include <string_view>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

namespace {

constexpr std::string_view kPassword = "correct horse battery staple";
constexpr std::string_view kOk =
    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n{\"ok\":true}";

// A queue of connection descriptors handed from one thread to another.
class Handoff {
 public:
  void push(int fd) {
    {
      std::lock_guard lock(mu_);
      fds_.push_back(fd);
    }
    cv_.notify_one();
  }
  int pop() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return !fds_.empty(); });
    int fd = fds_.front();
    fds_.pop_front();
    return fd;
  }
  std::deque<int> take_all() {
    std::lock_guard lock(mu_);
    return std::exchange(fds_, {});
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<int> fds_;
};

Handoff to_hash, to_database, answered;
int wake_fd = -1;  // eventfd: answered has work for the network thread

void answer_later(int fd) {
  answered.push(fd);
  std::uint64_t one = 1;
  if (write(wake_fd, &one, sizeof one) != sizeof one) std::abort();
}

void hash_loop(const std::string& stored, bool durable) {
  setpriority(PRIO_PROCESS, static_cast<id_t>(gettid()), 10);
  for (;;) {
    int fd = to_hash.pop();
    if (crypto_pwhash_str_verify(stored.c_str(), kPassword.data(), kPassword.size()) != 0) std::abort();
    if (durable) {
      to_database.push(fd);
    } else {
      answer_later(fd);
    }
  }
}

void database_loop(const char* path) {
  sqlite3* db = nullptr;
  if (sqlite3_open(path, &db) != SQLITE_OK) std::abort();
  const char* schema =
      "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;"
      "CREATE TABLE IF NOT EXISTS sessions (id TEXT PRIMARY KEY NOT NULL, user_id TEXT NOT NULL,"
      " created_at BIGINT NOT NULL, expires_at BIGINT NOT NULL, ip TEXT, user_agent TEXT)";
  if (sqlite3_exec(db, schema, nullptr, nullptr, nullptr) != SQLITE_OK) std::abort();
  sqlite3_stmt* insert = nullptr;
  if (sqlite3_prepare_v2(db, "INSERT INTO sessions VALUES (?1, 'user', ?2, ?2, '127.0.0.1', 'bench')", -1, &insert,
                         nullptr) != SQLITE_OK)
    std::abort();
  for (std::int64_t n = 1;; ++n) {
    int fd = to_database.pop();
    std::array<unsigned char, 16> id{};
    randombytes_buf(id.data(), id.size());
    std::array<char, 33> hex{};
    sodium_bin2hex(hex.data(), hex.size(), id.data(), id.size());
    sqlite3_bind_text(insert, 1, hex.data(), 32, SQLITE_TRANSIENT);
    sqlite3_bind_int64(insert, 2, n);
    if (sqlite3_step(insert) != SQLITE_DONE) std::abort();
    sqlite3_reset(insert);
    answer_later(fd);
  }
}

void send_all(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n <= 0) return;  // the client left; its next read ends the connection
    data.remove_prefix(static_cast<std::size_t>(n));
  }
}

// Takes the complete requests off the front of `buffer`: POSTs go to the hashing, GETs are
// answered at once. A request is its headers and a Content-Length body.
void serve_requests(int fd, std::string& buffer) {
  for (;;) {
    std::size_t end = buffer.find("\r\n\r\n");
    if (end == std::string::npos) return;
    std::size_t body = 0;
    std::string_view head(buffer.data(), end);
    for (std::string_view name : {"Content-Length:", "content-length:"}) {
      std::size_t at = head.find(name);
      if (at != std::string_view::npos) body = std::strtoul(head.data() + at + name.size(), nullptr, 10);
    }
    std::size_t size = end + 4 + body;
    if (buffer.size() < size) return;
    bool post = buffer.compare(0, 5, "POST ") == 0;
    buffer.erase(0, size);
    if (post) {
      to_hash.push(fd);
    } else {
      send_all(fd, kOk);
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || argc > 3) {
    std::fprintf(stderr, "usage: chatd_hash_server PORT [DATABASE_FILE]\n");
    return 2;
  }
  if (sodium_init() < 0) return 1;
  std::array<char, crypto_pwhash_STRBYTES> stored{};
  if (crypto_pwhash_str(stored.data(), kPassword.data(), kPassword.size(), 2, 19u << 20) != 0) return 1;

  int listener = socket(AF_INET, SOCK_STREAM, 0);
  int on = 1;
  setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<std::uint16_t>(std::atoi(argv[1])));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 || listen(listener, 128) != 0) {
    std::perror("listen");
    return 1;
  }
  int epoll = epoll_create1(0);
  wake_fd = eventfd(0, EFD_NONBLOCK);
  for (int fd : {listener, wake_fd}) {
    epoll_event event{};
    event.events = EPOLLIN;
    event.data.fd = fd;
    epoll_ctl(epoll, EPOLL_CTL_ADD, fd, &event);
  }

  bool durable = argc == 3;
  std::vector<std::thread> threads;
  if (durable) threads.emplace_back(database_loop, argv[2]);
  unsigned cores = std::thread::hardware_concurrency();
  for (unsigned i = 0; i < (cores == 0 ? 1 : cores); ++i)
    threads.emplace_back(hash_loop, std::string(stored.data()), durable);
  for (auto& t : threads) t.detach();
  std::fprintf(stderr, "ready\n");

  std::unordered_map<int, std::string> buffers;
  std::array<epoll_event, 64> events{};
  std::array<char, 16384> chunk{};
  for (;;) {
    int ready = epoll_wait(epoll, events.data(), static_cast<int>(events.size()), -1);
    for (int i = 0; i < ready; ++i) {
      int fd = events[static_cast<std::size_t>(i)].data.fd;
      if (fd == listener) {
        int client = accept(listener, nullptr, nullptr);
        if (client < 0) continue;
        setsockopt(client, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
        epoll_event event{};
        event.events = EPOLLIN;
        event.data.fd = client;
        epoll_ctl(epoll, EPOLL_CTL_ADD, client, &event);
        buffers[client].clear();
      } else if (fd == wake_fd) {
        std::uint64_t count = 0;
        if (read(wake_fd, &count, sizeof count) < 0) continue;
        for (int client : answered.take_all()) send_all(client, kOk);
      } else {
        ssize_t n = read(fd, chunk.data(), chunk.size());
        if (n <= 0) {
          // A login still in flight for this descriptor would answer a later connection that
          // reuses it; the load generator closes its connections only at the end of a run.
          epoll_ctl(epoll, EPOLL_CTL_DEL, fd, nullptr);
          close(fd);
          buffers.erase(fd);
          continue;
        }
        std::string& buffer = buffers[fd];
        buffer.append(chunk.data(), static_cast<std::size_t>(n));
        serve_requests(fd, buffer);
      }
    }
  }
}
