#pragma once
// The `.env` file format chatd accepts (a strict subset of what shells and python-dotenv read):
//
//   # comment                     blank lines and comment lines are skipped
//   KEY=value                     unquoted: trimmed; " #" (whitespace then #) starts a comment
//   export KEY=value              an optional `export ` prefix
//   KEY='literal $value \n'       single quotes: taken literally
//   KEY="line\nnext \"q\" \\"     double quotes: \n \r \t \" \\ escapes; other backslashes kept
//   KEY="value" # comment         a comment may follow a closing quote
//
// KEY is [A-Za-z_][A-Za-z0-9_]*. Quoted values end on the same line; there is no variable
// expansion. CRLF line ends and a UTF-8 byte order mark are accepted.

#include <string>
#include <string_view>
#include <vector>

namespace chatd::config {

struct DotenvEntry {
  std::string key;
  std::string value;
  int line = 0;  // 1-based
};

struct DotenvFile {
  std::vector<DotenvEntry> entries;   // in file order; a repeated key appears twice
  std::vector<std::string> problems;  // "NAME:LINE: what is wrong"; never quotes the line
};

// Never fails as a whole: each malformed line becomes one problem and is skipped.
DotenvFile parse_dotenv(std::string_view text, std::string_view file_name);

}  // namespace chatd::config
