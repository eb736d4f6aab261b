#include "identity/containers.hpp"

#include <spdlog/spdlog.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

namespace stockade::identity {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// A JSON file, or null when it is missing or not JSON (a runtime mid-write: read again later).
json read_json(const std::string& path) {
    std::ifstream in(path);
    if (!in) return nullptr;
    json j = json::parse(in, nullptr, false);
    if (j.is_discarded()) {
        spdlog::debug("containers: {} is not JSON (yet)", path);
        return nullptr;
    }
    return j;
}

std::string str(const json& j, const char* key) {
    auto it = j.find(key);
    return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// An OCI runtime config.json: annotations become labels; the Kubernetes ones name the container,
// its image and (CRI-O) carry the pod's labels.
void take_bundle(const json& config, container::Info& c) {
    if (!config.is_object()) return;
    if (auto root = config.find("root"); root != config.end() && root->is_object()) c.rootfs = str(*root, "path");
    auto ann = config.find("annotations");
    if (ann == config.end() || !ann->is_object()) return;
    for (auto& [k, v] : ann->items())
        if (v.is_string()) c.labels[k] = v.get<std::string>();
    for (const char* k : {"io.kubernetes.cri.container-name", "io.kubernetes.cri-o.ContainerName"})
        if (c.name.empty()) c.name = str(*ann, k);
    for (const char* k : {"io.kubernetes.cri.image-name", "io.kubernetes.cri-o.ImageName"})
        if (c.image.empty()) c.image = str(*ann, k);
    json pod_labels = json::parse(str(*ann, "io.kubernetes.cri-o.Labels"), nullptr, false);
    if (pod_labels.is_object())
        for (auto& [k, v] : pod_labels.items())
            if (v.is_string()) c.labels[k] = v.get<std::string>();
}

}  // namespace

std::shared_ptr<const container::Info> ContainerDirectory::lookup(const container::CgroupRef& ref) {
    if (auto it = cache_.find(ref.id); it != cache_.end()) return it->second;
    std::shared_ptr<container::Info> c;
    if (ref.runtime == "podman") c = read_podman(ref.id);
    else if (ref.runtime == "docker") c = read_docker(ref.id);
    if (!c) c = read_bundle(ref.id);  // containerd, CRI-O, kubepods
    if (!c) return nullptr;
    c->id = ref.id;
    c->runtime = ref.runtime;
    spdlog::info("container {} ({}): name={} image={} labels={}", ref.id.substr(0, 12), ref.runtime, c->name, c->image,
                 c->labels.size());
    return cache_[ref.id] = std::move(c);
}

std::shared_ptr<container::Info> ContainerDirectory::read_podman(const std::string& id) const {
    json all = read_json(paths_.podman_storage + "/overlay-containers/containers.json");
    if (!all.is_array()) return nullptr;
    for (auto& entry : all) {
        if (!entry.is_object() || str(entry, "id") != id) continue;
        auto c = std::make_shared<container::Info>();
        if (auto names = entry.find("names"); names != entry.end() && names->is_array() && !names->empty() &&
                                              names->front().is_string())
            c->name = names->front().get<std::string>();
        json meta = json::parse(str(entry, "metadata"), nullptr, false);  // a JSON string inside
        if (meta.is_object()) c->image = str(meta, "image-name");
        take_bundle(read_json(paths_.podman_storage + "/overlay-containers/" + id + "/userdata/config.json"), *c);
        return c;
    }
    return nullptr;
}

std::shared_ptr<container::Info> ContainerDirectory::read_docker(const std::string& id) const {
    json j = read_json(paths_.docker_root + "/containers/" + id + "/config.v2.json");
    if (!j.is_object()) return nullptr;
    auto c = std::make_shared<container::Info>();
    c->name = str(j, "Name");
    if (c->name.starts_with("/")) c->name.erase(0, 1);  // docker stores "/name"
    if (auto cfg = j.find("Config"); cfg != j.end() && cfg->is_object()) {
        c->image = str(*cfg, "Image");
        if (auto l = cfg->find("Labels"); l != cfg->end() && l->is_object())
            for (auto& [k, v] : l->items())
                if (v.is_string()) c->labels[k] = v.get<std::string>();
    }
    return c;
}

std::shared_ptr<container::Info> ContainerDirectory::read_bundle(const std::string& id) const {
    for (const std::string& dir : {paths_.containerd_tasks + "/" + id,
                                   paths_.podman_runroot + "/overlay-containers/" + id + "/userdata"}) {
        json config = read_json(dir + "/config.json");
        if (!config.is_object()) continue;
        auto c = std::make_shared<container::Info>();
        take_bundle(config, *c);
        return c;
    }
    return nullptr;
}

}  // namespace stockade::identity
