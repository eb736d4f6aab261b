#include "common/container.hpp"

#include <fnmatch.h>

#include <algorithm>

namespace stockade::container {

namespace {

bool is_id(std::string_view s) {
    return s.size() == 64 && std::all_of(s.begin(), s.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

// One path component: "<prefix><id>[.scope]" for each runtime's naming, or a bare id below a
// kubepods pod cgroup.
std::optional<CgroupRef> of_component(std::string_view leaf, bool below_pod) {
    static const std::pair<std::string_view, std::string_view> prefixes[] = {
        {"libpod-", "podman"}, {"docker-", "docker"}, {"cri-containerd-", "containerd"}, {"crio-", "crio"}};
    std::string_view name = leaf;
    if (name.ends_with(".scope")) name.remove_suffix(6);
    for (auto& [prefix, runtime] : prefixes)
        if (name.starts_with(prefix) && is_id(name.substr(prefix.size())))
            return CgroupRef{std::string(runtime), std::string(name.substr(prefix.size()))};
    if (below_pod && is_id(name)) return CgroupRef{"kubepods", std::string(name)};
    return std::nullopt;
}

bool glob_match(const std::string& glob, const std::string& value) {
    return fnmatch(glob.c_str(), value.c_str(), 0) == 0;
}

bool any_match(const std::vector<std::string>& globs, const std::string& value) {
    return std::any_of(globs.begin(), globs.end(), [&](const std::string& g) { return glob_match(g, value); });
}

}  // namespace

// The outermost component that names a container wins: a container's own sub-cgroups
// (systemd inside a container, a nested runtime) are still that container's.
std::optional<CgroupRef> of_cgroup(const std::string& path) {
    bool below_pod = false;
    size_t at = 0;
    while (at < path.size()) {
        size_t end = path.find('/', at);
        if (end == std::string::npos) end = path.size();
        std::string_view comp(path.data() + at, end - at);
        if (!comp.empty()) {
            if (auto ref = of_component(comp, below_pod)) return ref;
            // kubepods (cgroupfs driver): /kubepods[/burstable|/besteffort]/pod<uid>/<id>;
            // (systemd driver): kubepods-burstable-pod<uid>.slice/<runtime>-<id>.scope.
            below_pod = comp.starts_with("pod") || (comp.starts_with("kubepods") && comp.find("-pod") != comp.npos);
        }
        at = end + 1;
    }
    return std::nullopt;
}

bool Selector::matches(const Info& c) const {
    if (empty()) return false;
    if (!names.empty() && !any_match(names, c.name)) return false;
    if (!images.empty() && !any_match(images, c.image)) return false;
    for (auto& [key, glob] : labels) {
        auto it = c.labels.find(key);
        if (it == c.labels.end() || !glob_match(glob, it->second)) return false;
    }
    return true;
}

std::string glob_error(const std::string& glob) {
    if (glob.empty()) return "must not be empty";
    int brackets = 0;
    for (char c : glob) brackets += c == '[' ? 1 : c == ']' && brackets > 0 ? -1 : 0;
    if (brackets) return "has a '[' without its ']'";
    return "";
}

}  // namespace stockade::container
