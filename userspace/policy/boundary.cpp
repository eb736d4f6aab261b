#include "policy/boundary.hpp"

#include <algorithm>
#include <cctype>
#include <mutex>

namespace stockade::policy {

std::string_view to_string(JournalAllowed j) {
    switch (j) {
    case JournalAllowed::Off: return "off";
    case JournalAllowed::Summary: return "summary";
    case JournalAllowed::Full: return "full";
    }
    return "unknown";
}

std::string normalize_host(std::string_view host) {
    std::string h(host);
    std::transform(h.begin(), h.end(), h.begin(), [](unsigned char c) { return std::tolower(c); });
    while (!h.empty() && h.back() == '.') h.pop_back();
    return h;
}

bool NetRule::matches_port(uint16_t port) const {
    if (ports.empty()) return true;
    return std::any_of(ports.begin(), ports.end(), [&](const PortRange& r) { return r.contains(port); });
}

std::string NetRule::str() const {
    std::string s = host.empty() ? cidr.str() : host;
    if (!ports.empty()) {
        s += " ports ";
        for (size_t i = 0; i < ports.size(); ++i) s += (i ? "," : "") + ports[i].str();
    }
    if (protocol != Protocol::Any) s += " " + std::string(to_string(protocol));
    return s;
}

void HostTable::set(std::string_view host, std::vector<IpAddr> addrs) {
    for (auto& a : addrs) a = a.unmapped();
    std::unique_lock lock(mu_);
    addrs_[normalize_host(host)] = std::move(addrs);
}

std::vector<IpAddr> HostTable::get(std::string_view host) const {
    std::shared_lock lock(mu_);
    auto it = addrs_.find(normalize_host(host));
    return it == addrs_.end() ? std::vector<IpAddr>{} : it->second;
}

bool HostTable::contains(std::string_view host, const IpAddr& addr) const {
    std::shared_lock lock(mu_);
    auto it = addrs_.find(host);  // rule hosts are stored normalised
    return it != addrs_.end() && std::find(it->second.begin(), it->second.end(), addr) != it->second.end();
}

std::vector<std::string> Boundary::hosts() const {
    std::vector<std::string> out;
    for (const auto* list : {&network.connect, &network.deny})
        for (const auto& r : *list)
            if (!r.host.empty()) out.push_back(r.host);
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
}

void Boundary::set_resolved(std::string_view host, std::vector<IpAddr> addrs) const {
    resolved_hosts->set(host, std::move(addrs));
}

std::vector<IpAddr> Boundary::resolved(std::string_view host) const { return resolved_hosts->get(host); }

PolicySet::PolicySet(std::vector<std::shared_ptr<Boundary>> boundaries) {
    for (auto& b : boundaries) {
        b->resolved_hosts = hosts_;
        agents_.push_back(std::move(b));
    }
}

const Boundary* PolicySet::find(std::string_view agent) const {
    for (const auto& b : agents_)
        if (b->name == agent) return b.get();
    return nullptr;
}

std::vector<std::string> PolicySet::hosts() const {
    std::vector<std::string> out;
    for (const auto& b : agents_)
        for (auto& h : b->hosts()) out.push_back(std::move(h));
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
}

Decision violation_for(const Boundary& b) {
    if (b.mode == Mode::Monitor) return Decision::WouldDeny;
    return b.on_violation == OnViolation::Flag ? Decision::Flag : Decision::Kill;
}

}  // namespace stockade::policy
