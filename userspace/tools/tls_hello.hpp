// The one thing stockade reads from a TLS ClientHello it cannot see behind: the server name
// (SNI), so a report of unseen TLS says where it was going.
#pragma once

#include <string>
#include <string_view>

namespace stockade::tools {

// The server_name extension's host name of a ClientHello record (the bytes a client writes
// first: record header, handshake header, hello body), lower case; "" when there is none or the
// bytes are cut or malformed. Never throws.
std::string tls_server_name(std::string_view record);

}  // namespace stockade::tools
