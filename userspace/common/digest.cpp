#include "common/digest.hpp"

#include <openssl/evp.h>

#include <memory>

#include "common/error.hpp"

namespace stockade {

std::string sha256_hex(std::string_view data) {
    std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) != 1 ||
        EVP_DigestUpdate(ctx.get(), data.data(), data.size()) != 1 ||
        EVP_DigestFinal_ex(ctx.get(), md, &len) != 1)
        throw Error("OpenSSL could not compute a SHA-256 digest.");
    static constexpr char digits[] = "0123456789abcdef";
    std::string hex(2 * len, '0');
    for (unsigned i = 0; i < len; ++i) {
        hex[2 * i] = digits[md[i] >> 4];
        hex[2 * i + 1] = digits[md[i] & 0xf];
    }
    return hex;
}

}  // namespace stockade
