#include "client/terminal_style.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <cstdlib>
#include <ctime>

namespace jobgw::client {
namespace {

bool utf8_continuation(char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; }

}  // namespace

TerminalSize stdout_terminal_size() {
  struct winsize ws {};
  if (::ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) != 0) return {};
  return {ws.ws_row, ws.ws_col};
}

bool colours_wanted(bool out_is_terminal,
                    const std::function<std::optional<std::string>(const std::string&)>& env) {
  return out_is_terminal && !env("NO_COLOR").has_value();
}

bool colours_wanted(bool out_is_terminal) {
  return colours_wanted(out_is_terminal, [](const std::string& name) -> std::optional<std::string> {
    const char* v = std::getenv(name.c_str());
    if (v == nullptr) return std::nullopt;
    return std::string(v);
  });
}

std::string coloured(Colour colour, const std::string& text) {
  const char* code = nullptr;
  switch (colour) {
    case Colour::kNone:
      return text;
    case Colour::kRed:
      code = "31";
      break;
    case Colour::kGreen:
      code = "32";
      break;
    case Colour::kYellow:
      code = "33";
      break;
    case Colour::kDim:
      code = "2";
      break;
    case Colour::kBold:
      code = "1";
      break;
  }
  if (text.empty()) return text;
  return std::string("\x1b[") + code + "m" + text + "\x1b[0m";
}

std::size_t display_width(const std::string& text) {
  std::size_t n = 0;
  for (char c : text) {
    if (!utf8_continuation(c)) ++n;
  }
  return n;
}

std::string cut_to_width(const std::string& text, std::size_t columns) {
  std::size_t seen = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (utf8_continuation(text[i])) continue;
    if (seen == columns) return text.substr(0, i);
    ++seen;
  }
  return text;
}

std::string local_clock_text(std::int64_t unix_ms) {
  if (unix_ms <= 0) return "-";
  std::time_t seconds = static_cast<std::time_t>(unix_ms / 1000);
  std::tm local{};
  if (::localtime_r(&seconds, &local) == nullptr) return "-";
  char buf[16];
  if (std::strftime(buf, sizeof buf, "%H:%M:%S", &local) == 0) return "-";
  return buf;
}

}  // namespace jobgw::client
