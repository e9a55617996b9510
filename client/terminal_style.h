#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

namespace jobgw::client {

// A terminal's size in character cells; 0 when unknown.
struct TerminalSize {
  int rows = 0;
  int columns = 0;
};

// The size of the terminal on stdout (TIOCGWINSZ), read again at every call so a resized
// window is followed; zeros when stdout is not a terminal.
TerminalSize stdout_terminal_size();

// Whether output may carry colours: only on a terminal, and never when NO_COLOR is set to
// anything, empty included (no-color.org). `env` reads a variable (nullopt: unset).
bool colours_wanted(bool out_is_terminal,
                    const std::function<std::optional<std::string>(const std::string&)>& env);
// colours_wanted with the process environment.
bool colours_wanted(bool out_is_terminal);

// The SGR colours the live table uses.
enum class Colour { kNone, kRed, kGreen, kYellow, kDim, kBold };

// `text` between the colour's escape sequence and a reset; `text` unchanged for kNone.
std::string coloured(Colour colour, const std::string& text);

// How many cells `text` takes, counting each UTF-8 character as one (escape codes excluded:
// callers measure plain text).
std::size_t display_width(const std::string& text);
// The first `columns` characters of `text`, never cutting a UTF-8 sequence.
std::string cut_to_width(const std::string& text, std::size_t columns);

// "17:40:02" in the local time zone; "-" for 0.
std::string local_clock_text(std::int64_t unix_ms);

}  // namespace jobgw::client
