#pragma once

#include <string>
#include <string_view>

#include "client/cli_args.h"
#include "client/commands.h"

namespace jobgw::client {

// SHA-256 of a token as lower-case hex: what jobgw's credentials file stores as token_sha256.
std::string token_digest_hex(std::string_view token);

// A credentials-file entry (JSON object) for a token with this digest: a valid entry with
// placeholder name, scope, operation and operator for the administrator to edit.
std::string credentials_entry(const std::string& digest_hex);

// `jobctl token hash [--generate]`: reads a token from io.in (its first line), or makes a random
// 32-byte one and prints it once to io.err; prints the entry to io.out. The token read is never
// printed.
int run_token(const CliCommand& command, CommandIo& io);

}  // namespace jobgw::client
