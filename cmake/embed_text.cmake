# Writes a C++ file with one function that returns a text file's content, so that a data file
# of the source tree (the OpenAPI components) is part of the binary.
#   cmake -DIN=<file> -DOUT=<file.cpp> -DNAMESPACE=chatd::api -DFUNCTION=name -P embed_text.cmake
file(READ "${IN}" body)
string(FIND "${body}" ")chatd_text\"" clash)
if(NOT clash EQUAL -1)
  message(FATAL_ERROR "${IN} holds the raw string delimiter )chatd_text\"")
endif()
get_filename_component(name "${IN}" NAME)
set(out "// Generated from ${name} at build time; do not edit.\n#include <string_view>\n\n")
string(APPEND out "namespace ${NAMESPACE} {\n\nstd::string_view ${FUNCTION}() {\n")
string(APPEND out "  static constexpr std::string_view text = R\"chatd_text(${body})chatd_text\";\n  return text;\n}\n\n")
string(APPEND out "}  // namespace ${NAMESPACE}\n")
file(WRITE "${OUT}.tmp" "${out}")
execute_process(COMMAND ${CMAKE_COMMAND} -E copy_if_different "${OUT}.tmp" "${OUT}")
