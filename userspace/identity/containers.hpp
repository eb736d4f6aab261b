// What a container is called, read from its runtime's own files when its first process is seen
// and kept until the container's cgroup goes away. Files, never a runtime's command: the answer
// is needed before the container's first action is judged, and `podman inspect` takes ~1 s on a
// busy host. Where each runtime keeps what:
// - podman: <storage>/overlay-containers/containers.json (name, image name), the OCI bundle's
//   config.json (annotations: `podman run --annotation`); podman keeps --label in its database
//   only, which only `podman inspect` reads, so labels are matched against annotations;
// - docker: /var/lib/docker/containers/<id>/config.v2.json (Name, Config.Image, Config.Labels);
// - containerd and CRI-O (Kubernetes): the OCI bundle's config.json annotations
//   (io.kubernetes.cri.container-name / image-name, io.kubernetes.cri-o.ContainerName /
//   ImageName / Labels).
#pragma once

#include <map>
#include <memory>
#include <string>

#include "common/container.hpp"

namespace stockade::identity {

struct RuntimePaths {
    std::string podman_storage = "/var/lib/containers/storage";
    std::string podman_runroot = "/run/containers/storage";  // also CRI-O's
    std::string docker_root = "/var/lib/docker";
    std::string containerd_tasks = "/run/containerd/io.containerd.runtime.v2.task/k8s.io";
};

class ContainerDirectory {
public:
    explicit ContainerDirectory(RuntimePaths paths = {}) : paths_(std::move(paths)) {}

    // The container's description, read once and cached; null when its runtime's files do not
    // name it (yet: a later call reads them again).
    std::shared_ptr<const container::Info> lookup(const container::CgroupRef& ref);
    // The container is gone (its cgroup was removed): its entry goes.
    void forget(const std::string& id) { cache_.erase(id); }
    size_t size() const { return cache_.size(); }

private:
    std::shared_ptr<container::Info> read_podman(const std::string& id) const;
    std::shared_ptr<container::Info> read_docker(const std::string& id) const;
    std::shared_ptr<container::Info> read_bundle(const std::string& id) const;

    RuntimePaths paths_;
    std::map<std::string, std::shared_ptr<const container::Info>> cache_;
};

}  // namespace stockade::identity
