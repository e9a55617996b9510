#pragma once

// The live status page's files (web/), compiled into the binary so jobgw serves the page with
// nothing installed next to it. The table is generated at build time by web/embed_web_assets.cmake.

#include <cstddef>
#include <string_view>

namespace jobgw::server {

struct WebAsset {
  std::string_view path;          // "/index.html", "/app.js", ...
  std::string_view content_type;  // the Content-Type header to send
  std::string_view body;
  // A strong ETag header value, quotes included ("\"1f2e...\""): a short hash of the body, fixed
  // at build time, so a browser revalidates with If-None-Match and gets 304 until the page changes.
  std::string_view etag;
};

// The asset served at `path` (the request path without its query; "/" means "/index.html"), or
// null.
const WebAsset* find_web_asset(std::string_view path);

// Every asset, for serving or checking them all.
std::size_t web_asset_count();
const WebAsset& web_asset_at(std::size_t i);

}  // namespace jobgw::server
