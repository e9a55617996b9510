#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace jobgw::core {

// One `<SOPS_VAR>key:value</SOPS_VAR>` marker's output.
struct SopsVar {
  std::string key;
  std::string value;
};

// The log outputs bk-sops reads from a script's log, extracted as bk-sops extracts them, so a
// flow moved onto jobgw sees the same outputs:
// - a marker is `<SOPS_VAR>` + at least one byte + `</SOPS_VAR>`, matched shortest first and
//   across line breaks; the HTML-escaped form (`&lt;SOPS_VAR&gt;...&lt;/SOPS_VAR&gt;`) too;
// - the text is split at its first `:`; text without `:` or with an empty key is skipped; key
//   and value are kept as written (no trimming, no unescaping, CR kept);
// - all plain markers are read before all escaped ones, and a later marker with the same key
//   replaces the value (so an escaped marker beats a plain one wherever it stands).
// Keys are listed in the order they first appeared. Byte-wise, so UTF-8 text stays intact.
std::vector<SopsVar> extract_sops_vars(std::string_view log_text);

}  // namespace jobgw::core
