#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace jobsim {

// Strict Base64 (standard alphabet, '=' padding optional, whitespace ignored). nullopt when the
// input is not Base64.
std::optional<std::string> base64_decode(const std::string& in);
std::string base64_encode(const std::string& in);

// Splits a parameter string into words like a POSIX shell would for plain words: whitespace
// separates, single quotes are literal, double quotes and backslashes escape. nullopt when a
// quote is left open.
std::optional<std::vector<std::string>> split_words(const std::string& in);

// Percent-decoding of a query component ('+' is a space).
std::string url_decode(const std::string& in);
// "a=1&b=2" -> {a:1, b:2}; the last value wins for a repeated key.
std::map<std::string, std::string> parse_query(const std::string& query);

// JOB's human-readable sizes: "9.0 Bytes", "1.5 KB", "2.0 MB", "1.1 GB".
std::string format_size(uint64_t bytes);
// "120 KB/s"
std::string format_speed(double bytes_per_second);

// 32 lowercase hex digits, unique per process run.
std::string new_request_id();

}  // namespace jobsim
