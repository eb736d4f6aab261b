// Containers as agents: which container a cgroup belongs to (podman, docker, containerd, CRI-O,
// the kubelet's pod slices), what a container is called (name, image, labels), and the
// `match.container` selector of a boundary that picks containers by those.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace stockade::container {

// A container named by its cgroup: the runtime that made it and its id (64 hex digits).
struct CgroupRef {
    std::string runtime;  // "podman", "docker", "containerd", "crio", "kubepods" (runtime unknown)
    std::string id;
    bool operator==(const CgroupRef&) const = default;
};

// The container a cgroup v2 path ("/machine.slice/libpod-<id>.scope", "/libpod_parent/libpod-<id>",
// "/system.slice/docker-<id>.scope", "/kubepods.slice/.../cri-containerd-<id>.scope",
// "/kubepods/besteffort/pod<uid>/<id>") is the cgroup of, or of a cgroup below it. Nothing for
// other paths and for a runtime's own helpers (podman's "libpod-conmon-<id>").
std::optional<CgroupRef> of_cgroup(const std::string& path);

// What the runtime says about a container.
struct Info {
    std::string id, runtime, name, image;
    std::map<std::string, std::string> labels;
    std::string rootfs;  // the container's root directory as the host sees it ("" unknown)
};

// `match.container` of a boundary: every part given must match (globs as in fnmatch(3) without
// FNM_PATHNAME: `*` also matches `/`, so "registry.local/agents/*" works on image names).
struct Selector {
    std::vector<std::string> names;   // any of them matches the container's name
    std::vector<std::string> images;  // any of them matches the image name
    std::vector<std::pair<std::string, std::string>> labels;  // each label present, its value matching
    bool empty() const { return names.empty() && images.empty() && labels.empty(); }
    bool matches(const Info& c) const;
};

// A glob of a selector: "" if usable, else why not (for the boundary's diagnostics).
std::string glob_error(const std::string& glob);

}  // namespace stockade::container
