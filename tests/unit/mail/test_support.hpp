#pragma once
// Shared by the mail tests: a log captured in a temporary file, and waiting with a deadline.

#include "core/log.hpp"

#include <nlohmann/json.hpp>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace chatd::mail::test {

class LogFile {
 public:
  LogFile() {
    char name[] = "/tmp/chatd-mailtest-log-XXXXXX";
    fd_ = mkstemp(name);
    path_ = name;
  }
  ~LogFile() {
    ::close(fd_);
    std::remove(path_.c_str());
  }
  LogFile(const LogFile&) = delete;
  LogFile& operator=(const LogFile&) = delete;
  int fd() const { return fd_; }

  // Everything written so far (call Logger::flush first).
  std::string text() const {
    std::ifstream in(path_);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  // The JSON lines whose "event" is `event`.
  std::vector<nlohmann::json> events(const std::string& event) const {
    std::vector<nlohmann::json> out;
    std::istringstream in(text());
    for (std::string line; std::getline(in, line);) {
      auto j = nlohmann::json::parse(line, nullptr, false);
      if (!j.is_discarded() && j.value("event", "") == event) out.push_back(j);
    }
    return out;
  }

 private:
  int fd_;
  std::string path_;
};

// Polls `condition` until it holds or `timeout` passes; returns its last value.
template <class F>
bool eventually(F condition, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!condition()) {
    if (std::chrono::steady_clock::now() >= deadline) return condition();
    std::this_thread::sleep_for(std::chrono::milliseconds(2));  // polling interval, not a wait
  }
  return true;
}

}  // namespace chatd::mail::test
