#pragma once
// Shared by the config tests: Sources built from a map, the problems and effective settings of
// a load, and a temporary file.

#include "config/config.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace chatd::config::test {

using Env = std::map<std::string, std::string>;

inline Sources sources_of(Env env, std::optional<std::string> dotenv = std::nullopt) {
  Sources s;
  s.env = std::move(env);
  s.dotenv = std::move(dotenv);
  s.hardware_threads = 4;
  return s;
}

inline LoadResult load_env(Env env) { return load(sources_of(std::move(env))); }

inline std::string all_problems(const LoadResult& r) {
  std::string out;
  for (const auto& p : r.problems) out += p + "\n";
  return out;
}

inline bool has_problem(const LoadResult& r, const std::string& text) {
  for (const auto& p : r.problems) {
    if (p.find(text) != std::string::npos) return true;
  }
  return false;
}

// The problems that start with "NAME: ".
inline std::vector<std::string> problems_of(const LoadResult& r, const std::string& name) {
  std::vector<std::string> out;
  for (const auto& p : r.problems) {
    if (p.rfind(name + ": ", 0) == 0) out.push_back(p);
  }
  return out;
}

inline const LoadResult::Setting& effective(const LoadResult& r, const std::string& name) {
  for (const auto& s : r.effective) {
    if (s.name == name) return s;
  }
  static const LoadResult::Setting missing{"(missing)", "(missing)", "(missing)"};
  ADD_FAILURE() << name << " is not in the effective settings";
  return missing;
}

// A temporary file that is removed at the end of the test.
class TempFile {
 public:
  explicit TempFile(const std::string& content) {
    char name[] = "/tmp/chatd_config_testXXXXXX";
    int fd = ::mkstemp(name);
    EXPECT_GE(fd, 0);
    path_ = name;
    EXPECT_EQ(::write(fd, content.data(), content.size()), static_cast<ssize_t>(content.size()));
    ::close(fd);
  }
  ~TempFile() { ::unlink(path_.c_str()); }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace chatd::config::test
