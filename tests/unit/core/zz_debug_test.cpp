#include <catch2/catch.hpp>
#include "identity/process_table.hpp"
using namespace stockade; using namespace stockade::identity;
TEST_CASE("dbg") {
    ProcessTable t;
    AgentMatch res; res.name = "researcher"; res.id = 2; res.cgroups = {"/stockade/res"}; res.uid = 1000;
    t.set_agents({res});
    t.bind_cgroup(31, "/launch/r", "researcher", "t");
    Event e; e.action = Action::Open; e.pid = e.tid = 4500003; e.start_ns = 1000000000; e.cgroup_id = 31; e.uid = 1001;
    const auto& p = t.apply(e);
    INFO("agent=" << p.agent << " task=" << p.task);
    CHECK(p.agent.empty());
}
