#include "policy/resolve.hpp"

#include <netdb.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <algorithm>
#include <netinet/in.h>

namespace stockade::policy {

bool refresh_hosts(const policy::PolicySet& set) {
    bool changed = false;
    for (auto& host : set.hosts()) {
        addrinfo hints{};
        hints.ai_family = AF_UNSPEC;
        hints.ai_socktype = SOCK_STREAM;
        addrinfo* res = nullptr;
        int rc = getaddrinfo(host.c_str(), nullptr, &hints, &res);
        if (rc != 0) {
            spdlog::warn("host rule {}: does not resolve ({}); keeping its previous addresses", host, gai_strerror(rc));
            continue;
        }
        std::vector<policy::IpAddr> addrs;
        for (addrinfo* a = res; a; a = a->ai_next) {
            if (a->ai_family == AF_INET)
                addrs.push_back(policy::IpAddr::from_bytes(
                    AF_INET, reinterpret_cast<const uint8_t*>(&reinterpret_cast<sockaddr_in*>(a->ai_addr)->sin_addr)));
            else if (a->ai_family == AF_INET6)
                addrs.push_back(policy::IpAddr::from_bytes(
                    AF_INET6,
                    reinterpret_cast<const uint8_t*>(&reinterpret_cast<sockaddr_in6*>(a->ai_addr)->sin6_addr)));
        }
        freeaddrinfo(res);
        auto key = [](const policy::IpAddr& a) { return std::make_pair(a.family, a.bytes); };
        std::sort(addrs.begin(), addrs.end(), [&](auto& x, auto& y) { return key(x) < key(y); });
        addrs.erase(std::unique(addrs.begin(), addrs.end()), addrs.end());
        if (addrs != set.resolved(host)) {
            spdlog::info("host rule {}: {} address(es)", host, addrs.size());
            set.set_resolved(host, std::move(addrs));
            changed = true;
        }
    }
    return changed;
}

}  // namespace stockade::policy
