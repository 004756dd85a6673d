#include "core/log.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <thread>

namespace chatd {
namespace {

class LogFile {
 public:
  LogFile() {
    char name[] = "/tmp/chatd-logtest-XXXXXX";
    fd_ = mkstemp(name);
    path_ = name;
  }
  ~LogFile() {
    ::close(fd_);
    std::remove(path_.c_str());
  }
  int fd() const { return fd_; }
  std::vector<std::string> lines() const {
    std::ifstream in(path_);
    std::vector<std::string> out;
    for (std::string line; std::getline(in, line);) out.push_back(line);
    return out;
  }

 private:
  int fd_;
  std::string path_;
};

TEST(Log, JsonLinesWithTypedFields) {
  LogFile file;
  {
    Logger log(LogLevel::info, LogFormat::json, file.fd());
    log.info("thing.happened").str("name", "a \"quoted\"\nvalue\\").num("n", -42).real("x", 1.5).boolean("ok", true);
    log.flush();
  }
  auto lines = file.lines();
  ASSERT_EQ(lines.size(), 1u);
  auto j = nlohmann::json::parse(lines[0]);
  EXPECT_EQ(j["event"], "thing.happened");
  EXPECT_EQ(j["level"], "info");
  EXPECT_EQ(j["name"], "a \"quoted\"\nvalue\\");
  EXPECT_EQ(j["n"], -42);
  EXPECT_DOUBLE_EQ(j["x"].get<double>(), 1.5);
  EXPECT_EQ(j["ok"], true);
  EXPECT_EQ(j["ts"].get<std::string>().size(), 24u);
}

TEST(Log, LevelsBelowTheMinimumAreDropped) {
  LogFile file;
  {
    Logger log(LogLevel::warn, LogFormat::json, file.fd());
    EXPECT_FALSE(log.enabled(LogLevel::info));
    log.debug("a");
    log.info("b");
    log.warn("c");
    log.error("d");
  }  // the destructor writes what is queued
  auto lines = file.lines();
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(nlohmann::json::parse(lines[0])["event"], "c");
  EXPECT_EQ(nlohmann::json::parse(lines[1])["level"], "error");
}

TEST(Log, TextFormat) {
  LogFile file;
  {
    Logger log(LogLevel::debug, LogFormat::text, file.fd());
    log.info("server.listening").str("address", "127.0.0.1").num("port", 8080).str("note", "two words");
  }
  auto lines = file.lines();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_NE(lines[0].find(" INFO  server.listening address=127.0.0.1 port=8080 note=\"two words\""), std::string::npos)
      << lines[0];
}

TEST(Log, AnIdleWriterSleepsUntilALineComesAndThenWritesItUnasked) {
  LogFile file;
  Logger log(LogLevel::info, LogFormat::json, file.fd());
  // Nothing logged: the writer does not wake (it used to, every 20 ms).
  std::this_thread::sleep_for(std::chrono::milliseconds(150));
  EXPECT_EQ(log.writer_rounds(), 0u);
  // The first line after the quiet spell wakes it, and reaches the file without a flush().
  log.info("after.quiet");
  for (int i = 0; i < 500 && file.lines().empty(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  ASSERT_EQ(file.lines().size(), 1u);
  EXPECT_NE(file.lines()[0].find("\"event\":\"after.quiet\""), std::string::npos);
  // Written, it sleeps again: only a few rounds (the wake-up, a gathering) for that line.
  const std::uint64_t rounds = log.writer_rounds();
  std::this_thread::sleep_for(std::chrono::milliseconds(150));
  EXPECT_EQ(log.writer_rounds(), rounds);
  EXPECT_LE(rounds, 2u);
}

TEST(Log, FullQueueDropsAndReportsInsteadOfBlocking) {
  LogFile file;
  std::uint64_t dropped = 0;
  {
    Logger log(LogLevel::info, LogFormat::json, file.fd(), 4);
    for (int i = 0; i < 1000; ++i) log.info("burst").num("i", i);
    dropped = log.dropped();
  }
  EXPECT_GT(dropped, 0u);
  auto lines = file.lines();
  bool reported = false;
  for (const auto& l : lines) reported = reported || l.find("\"event\":\"log.dropped\"") != std::string::npos;
  EXPECT_TRUE(reported);
  EXPECT_LT(lines.size(), 1000u);
}

TEST(Log, ParseLevel) {
  LogLevel level = LogLevel::info;
  EXPECT_TRUE(parse_log_level("debug", level));
  EXPECT_EQ(level, LogLevel::debug);
  EXPECT_TRUE(parse_log_level("error", level));
  EXPECT_EQ(level, LogLevel::error);
  EXPECT_FALSE(parse_log_level("verbose", level));
  EXPECT_EQ(level, LogLevel::error);
}

}  // namespace
}  // namespace chatd
