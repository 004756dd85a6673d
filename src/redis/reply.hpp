#pragma once
// A Redis reply, owned (hiredis frees its own reply object when the callback returns).

#include <cstdint>
#include <string>
#include <vector>

struct redisReply;

namespace chatd::redis {

struct Reply {
  enum class Type { string, array, integer, nil, status, error };
  Type type = Type::nil;
  std::string str;  // string, status and error replies
  std::int64_t integer = 0;
  std::vector<Reply> elements;  // array replies

  bool is_error() const { return type == Type::error; }
};

// A deep copy of a hiredis reply; nesting deeper than hiredis allows is not a concern (it
// caps it at 7 levels).
Reply copy_reply(const redisReply& reply);

}  // namespace chatd::redis
