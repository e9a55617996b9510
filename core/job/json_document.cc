#include "core/job/json_document.h"

#include <cstring>

namespace jobgw::core {

// Bodies above this size get a parser of their own: a parser keeps ~14 bytes per input byte,
// and a thread that once decoded a huge answer should not hold that memory for good.
constexpr std::size_t kThreadParserMaxBytes = 4 << 20;

struct JsonDocument::Workspace {
  simdjson::dom::parser parser;
  std::string padded;  // the text plus SIMDJSON_PADDING, which simdjson may read past the end
  bool busy = false;
};

namespace {

JsonDocument::Workspace& thread_workspace() {
  thread_local JsonDocument::Workspace workspace;
  return workspace;
}

std::string_view without_bom(std::string_view text) {
  constexpr std::string_view kBom = "\xEF\xBB\xBF";
  if (text.substr(0, kBom.size()) == kBom) text.remove_prefix(kBom.size());
  return text;
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// Whether an integer token ("-12", "345") lies outside both int64 and uint64. Tokens with a
// leading zero are left alone: they are invalid JSON either way.
bool beyond_64_bits(std::string_view token) {
  const bool negative = !token.empty() && token[0] == '-';
  std::string_view digits = negative ? token.substr(1) : token;
  if (digits.size() > 1 && digits[0] == '0') return false;
  std::string_view limit = negative ? "9223372036854775808" : "18446744073709551615";
  if (digits.size() != limit.size()) return digits.size() > limit.size();
  return digits > limit;
}

// The end of the string literal that starts at text[begin] (its opening quote), past the
// closing quote; text.size() when unterminated.
std::size_t string_end(std::string_view text, std::size_t begin) {
  for (std::size_t i = begin + 1; i < text.size(); ++i) {
    if (text[i] == '\\') {
      ++i;
    } else if (text[i] == '"') {
      return i + 1;
    }
  }
  return text.size();
}

}  // namespace

std::string widen_big_integers(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 16);
  std::size_t i = 0;
  while (i < text.size()) {
    const char c = text[i];
    if (c == '"') {
      std::size_t end = string_end(text, i);
      out.append(text.substr(i, end - i));
      i = end;
    } else if (c == '-' || is_digit(c)) {
      std::size_t end = c == '-' ? i + 1 : i;
      while (end < text.size() && is_digit(text[end])) ++end;
      std::string_view token = text.substr(i, end - i);
      out.append(token);
      const bool has_fraction_or_exponent =
          end < text.size() && (text[end] == '.' || text[end] == 'e' || text[end] == 'E');
      if (!has_fraction_or_exponent && beyond_64_bits(token)) out.append(".0");
      i = end;
    } else {
      out.push_back(c);
      ++i;
    }
  }
  return out;
}

JsonDocument::JsonDocument() = default;

JsonDocument::~JsonDocument() {
  if (workspace_ != nullptr && workspace_ != owned_.get()) workspace_->busy = false;
}

simdjson::error_code JsonDocument::parse(std::string_view text) {
  text = without_bom(text);
  take_workspace(text.size());
  simdjson::error_code err = parse_padded(text);
  if (err != simdjson::SUCCESS) err = parse_as_nlohmann_would(text, err);
  return err;
}

void JsonDocument::take_workspace(std::size_t text_size) {
  Workspace& mine = thread_workspace();
  if (!mine.busy && text_size <= kThreadParserMaxBytes) {
    mine.busy = true;
    workspace_ = &mine;
  } else {
    // A second live document on this thread must not invalidate the first one's elements.
    owned_ = std::make_unique<Workspace>();
    workspace_ = owned_.get();
  }
}

// The rare texts simdjson refuses and nlohmann accepts get one more try for each difference.
simdjson::error_code JsonDocument::parse_as_nlohmann_would(std::string_view text,
                                                           simdjson::error_code err) {
  bool cut = false;
  bool deepened = false;
  bool widened = false;
  std::string wide;
  while (err != simdjson::SUCCESS) {
    if (!cut && text.find('\0') != std::string_view::npos) {
      // nlohmann reads a NUL byte as the end of the input (and refuses one inside a string).
      cut = true;
      text = text.substr(0, text.find('\0'));
    } else if (err == simdjson::DEPTH_ERROR && !deepened) {
      deepened = true;
      if (use_deep_parser(text.size()) != simdjson::SUCCESS) return err;
    } else if (err == simdjson::NUMBER_ERROR && !widened) {
      widened = true;
      wide = widen_big_integers(text);
      if (wide.size() == text.size()) return err;
      text = wide;
    } else {
      return err;
    }
    err = parse_padded(text);
  }
  return err;
}

simdjson::error_code JsonDocument::parse_padded(std::string_view text) {
  std::string& padded = workspace_->padded;
  if (padded.size() < text.size() + simdjson::SIMDJSON_PADDING) {
    padded.resize(text.size() + simdjson::SIMDJSON_PADDING);
  }
  if (!text.empty()) std::memcpy(padded.data(), text.data(), text.size());
  return workspace_->parser.parse(padded.data(), text.size(), /*realloc_if_needed=*/false)
      .get(root_);
}

// Nesting can be no deeper than the text is long, so that depth accepts every text.
simdjson::error_code JsonDocument::use_deep_parser(std::size_t depth) {
  if (workspace_ != owned_.get()) {
    workspace_->busy = false;
    owned_ = std::make_unique<Workspace>();
    workspace_ = owned_.get();
  }
  owned_->parser = simdjson::dom::parser();
  return owned_->parser.allocate(depth, depth);
}

}  // namespace jobgw::core
