// Containers: which container a cgroup path names (each runtime's layout), what a runtime's files
// say about it (podman, docker, a CRI bundle, read from a directory laid out as the runtime lays
// out its own), the match.container selector, and attribution of a process in a container.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <string>

#include "../temp_dir.hpp"
#include "common/container.hpp"
#include "identity/containers.hpp"
#include "identity/process_table.hpp"

using namespace stockade;
using stockade::test::TempDir;

namespace {

const std::string kId = "f19e7850ff4a704172f3763f59cd6bd7302df322d634f05863f3de0fbb0d7a86";
const std::string kId2 = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

void write(const std::string& path, const std::string& text) {
    std::filesystem::create_directories(std::filesystem::path(path).parent_path());
    std::ofstream(path) << text;
}

// podman 4.3's containers.json entry and OCI config.json, as `podman run --name coder
// --annotation team=red localhost/agent:1` leaves them (trimmed to the fields read).
void podman_files(const TempDir& d, const std::string& id, const std::string& name) {
    write(d / "podman/overlay-containers/containers.json",
          "[{\"id\":\"" + id + "\",\"names\":[\"" + name + "\"],\"image\":\"f083\",\"metadata\":\"{\\\"image-name\\\":"
          "\\\"localhost/agent:1\\\",\\\"name\\\":\\\"" + name + "\\\"}\"}]");
    write(d / ("podman/overlay-containers/" + id + "/userdata/config.json"),
          "{\"root\":{\"path\":\"/var/lib/containers/storage/overlay/abc/merged\"},"
          "\"annotations\":{\"io.container.manager\":\"libpod\",\"team\":\"red\"}}");
}

identity::RuntimePaths paths_in(const TempDir& d) {
    identity::RuntimePaths p;
    p.podman_storage = d / "podman";
    p.podman_runroot = d / "run-storage";
    p.docker_root = d / "docker";
    p.containerd_tasks = d / "containerd";
    return p;
}

}  // namespace

TEST_CASE("a container's cgroup is named by each runtime's layout", "[containers]") {
    using container::CgroupRef;
    CHECK(container::of_cgroup("/libpod_parent/libpod-" + kId) == CgroupRef{"podman", kId});  // cgroupfs
    CHECK(container::of_cgroup("/machine.slice/libpod-" + kId + ".scope") == CgroupRef{"podman", kId});
    CHECK(container::of_cgroup("/machine.slice/libpod-" + kId + ".scope/container/init.scope") ==
          CgroupRef{"podman", kId});  // systemd inside the container: still that container
    CHECK(container::of_cgroup("/system.slice/docker-" + kId + ".scope") == CgroupRef{"docker", kId});
    CHECK(container::of_cgroup("/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1234_5678.slice/"
                               "cri-containerd-" + kId + ".scope") == CgroupRef{"containerd", kId});
    CHECK(container::of_cgroup("/kubepods.slice/kubepods-pod1234.slice/crio-" + kId + ".scope") ==
          CgroupRef{"crio", kId});
    CHECK(container::of_cgroup("/kubepods/besteffort/pod1234-5678/" + kId) == CgroupRef{"kubepods", kId});
    // Not containers: conmon's cgroup, a short id, a bare id outside a pod, a plain unit.
    CHECK_FALSE(container::of_cgroup("/machine.slice/libpod-conmon-" + kId + ".scope"));
    CHECK_FALSE(container::of_cgroup("/machine.slice/libpod-f19e7850ff4a.scope"));
    CHECK_FALSE(container::of_cgroup("/system.slice/" + kId));
    CHECK_FALSE(container::of_cgroup("/system.slice/agent-coder.service"));
    CHECK_FALSE(container::of_cgroup(""));
}

TEST_CASE("match.container selects by name, image and labels, all given parts holding", "[containers]") {
    container::Info c{kId, "podman", "coder-7", "registry.local/agents/coder:1.2", {{"team", "red"}}, ""};
    container::Selector s;
    CHECK_FALSE(s.matches(c));  // an empty selector selects nothing
    s.names = {"reviewer-*", "coder-*"};
    CHECK(s.matches(c));
    s.images = {"registry.local/agents/*"};  // `*` crosses `/` in image names
    CHECK(s.matches(c));
    s.labels = {{"team", "r*"}};
    CHECK(s.matches(c));
    s.labels = {{"team", "blue"}};
    CHECK_FALSE(s.matches(c));
    s.labels = {{"owner", "*"}};  // a label the container does not have
    CHECK_FALSE(s.matches(c));
    s.labels.clear();
    s.images = {"docker.io/*"};
    CHECK_FALSE(s.matches(c));
    CHECK(container::glob_error("coder-[ab") != "");
    CHECK(container::glob_error("") != "");
    CHECK(container::glob_error("coder-[ab]*") == "");
}

TEST_CASE("podman's files name a container: containers.json and the OCI bundle's annotations", "[containers]") {
    TempDir d;
    podman_files(d, kId, "coder");
    identity::ContainerDirectory dir(paths_in(d));
    auto c = dir.lookup({"podman", kId});
    REQUIRE(c);
    CHECK(c->name == "coder");
    CHECK(c->image == "localhost/agent:1");
    CHECK(c->labels.at("team") == "red");
    CHECK(c->rootfs == "/var/lib/containers/storage/overlay/abc/merged");
    // Cached: the files going away does not change the answer until the container is forgotten.
    std::filesystem::remove_all(d / "podman");
    CHECK(dir.lookup({"podman", kId}) == c);
    dir.forget(kId);
    CHECK_FALSE(dir.lookup({"podman", kId}));
    // A container the runtime's files do not name (yet) is looked up again next time.
    CHECK_FALSE(dir.lookup({"podman", kId2}));
    podman_files(d, kId2, "late");
    auto late = dir.lookup({"podman", kId2});
    REQUIRE(late);
    CHECK(late->name == "late");
}

TEST_CASE("docker's config.v2.json and a CRI bundle's annotations name a container", "[containers]") {
    TempDir d;
    write(d / ("docker/containers/" + kId + "/config.v2.json"),
          "{\"Name\":\"/web\",\"Config\":{\"Image\":\"nginx:1.25\",\"Labels\":{\"tier\":\"front\"}}}");
    write(d / ("containerd/" + kId2 + "/config.json"),
          "{\"annotations\":{\"io.kubernetes.cri.container-name\":\"agent\",\"io.kubernetes.cri.image-name\":"
          "\"registry.local/agent:2\",\"io.kubernetes.pod.namespace\":\"ai\"}}");
    identity::ContainerDirectory dir(paths_in(d));
    auto web = dir.lookup({"docker", kId});
    REQUIRE(web);
    CHECK(web->name == "web");
    CHECK(web->image == "nginx:1.25");
    CHECK(web->labels.at("tier") == "front");
    auto pod = dir.lookup({"containerd", kId2});
    REQUIRE(pod);
    CHECK(pod->name == "agent");
    CHECK(pod->image == "registry.local/agent:2");
    CHECK(pod->labels.at("io.kubernetes.pod.namespace") == "ai");
    // Broken JSON (a runtime mid-write) names nothing, and nothing is cached: read again later.
    const std::string id3(64, 'e');
    write(d / ("docker/containers/" + id3 + "/config.v2.json"), "{\"Name\":");
    CHECK_FALSE(dir.lookup({"docker", id3}));
    write(d / ("docker/containers/" + id3 + "/config.v2.json"), "{\"Name\":\"/done\"}");
    auto done = dir.lookup({"docker", id3});
    REQUIRE(done);
    CHECK(done->name == "done");
}

TEST_CASE("a process in a selected container is the agent's and carries the container", "[containers]") {
    TempDir d;
    podman_files(d, kId, "coder");
    podman_files(d, kId2, "other");  // containers.json now names only kId2: write both entries
    write(d / "podman/overlay-containers/containers.json",
          "[{\"id\":\"" + kId + "\",\"names\":[\"coder\"],\"metadata\":\"{\\\"image-name\\\":\\\"localhost/agent:1\\\"}\"},"
          "{\"id\":\"" + kId2 + "\",\"names\":[\"other\"],\"metadata\":\"{\\\"image-name\\\":\\\"localhost/agent:1\\\"}\"}]");
    identity::ProcessTable t;
    t.set_runtime_paths(paths_in(d));
    identity::AgentMatch a;
    a.name = "coder";
    a.id = 3;
    a.container = container::Selector{{"coder"}, {"localhost/agent:*"}, {}};
    t.set_agents({a});
    uint64_t cg1 = 9001, cg2 = 9002;
    t.note_cgroup(cg1, "/libpod_parent/libpod-" + kId);
    t.note_cgroup(cg2, "/libpod_parent/libpod-" + kId2);
    Event e;
    e.action = Action::Open;
    e.pid = e.tid = 4'500'001;  // above PID_MAX_LIMIT: never a real process
    e.start_ns = 5'000'000'000ull;
    e.cgroup_id = cg1;
    const auto& p = t.apply(e);
    CHECK(p.agent == "coder");
    REQUIRE(p.container);
    CHECK(p.container->name == "coder");
    e.pid = e.tid = 4'500'002;
    e.cgroup_id = cg2;
    const auto& q = t.apply(e);
    CHECK(q.agent.empty());  // same image, another name: not selected
    REQUIRE(q.container);
    CHECK(q.container->name == "other");
    CHECK(t.agent_of_container(*p.container) == t.agent_by_name("coder"));
    CHECK(t.agent_of_container(*q.container) == nullptr);
}
