// Host names in network rules, resolved by the daemon and refreshed, so that `host:` rules can
// be matched (and put in the kernel's LPM tables) by address.
#pragma once

#include <string>
#include <vector>

#include "policy/boundary.hpp"

namespace stockade::policy {

// Resolves every host name of the set (getaddrinfo, A and AAAA) and installs the addresses
// in the set's host table. Returns true if any host's address list changed. A name that does
// not resolve keeps its previous addresses (a DNS outage must not open or close anything) and
// is logged.
bool refresh_hosts(const policy::PolicySet& set);

}  // namespace stockade::policy
