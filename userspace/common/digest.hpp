// SHA-256 for whoever needs a digest: the journal's hash chain, and the tool stage's digests of
// query strings and call arguments (kept in the journal instead of the secrets themselves).
#pragma once

#include <string>
#include <string_view>

namespace stockade {

// Lowercase hex SHA-256 (OpenSSL EVP). Throws stockade::Error if OpenSSL fails.
std::string sha256_hex(std::string_view data);

}  // namespace stockade
