// A Python agent under the shipped boundary rules/researcher.yaml (monitor mode): it reads its
// question, calls the search gateway the boundary names (two HTTP tool calls) and writes its
// report. The run is clean: not one action the boundary would have refused.
#include <catch2/catch.hpp>

#include "agent_harness.hpp"

using namespace sktest;
using stockade::journal::Record;

TEST_CASE("a Python research agent runs clean under rules/researcher.yaml", "[agents][python]") {
    ScratchDir d("research", "/var/tmp");
    std::string home = d / "home";
    write_file(home + "/prompts/question.txt", "kernel tracepoints\n");
    fs::copy_file(std::string(STOCKADE_SOURCE_DIR) + "/tests/integration/agents/research_agent.py",
                  home + "/research_agent.py");
    FakeModelApi gateway(d, {std::string(STOCKADE_SOURCE_DIR) + "/tests/integration/http/server.py", "plain"});
    write_file(d / "agents.d/researcher.yaml",
               shipped_boundary("researcher.yaml", {{"home: /srv/agents/researcher", "home: " + home},
                                                    {"ports: 8443", "ports: " + std::to_string(gateway.port)}}));
    Daemon daemon(d);
    daemon.start();

    AgentRun run = run_agent(daemon, "researcher",
                             {"/usr/bin/python3", home + "/research_agent.py",
                              "http://localhost:" + std::to_string(gateway.port)},
                             {{"HOME", home}, {"PATH", "/usr/bin:/bin"}, {"LANG", "C.UTF-8"}}, home, 60);
    auto bad = violations(daemon, "researcher");
    INFO("stdout: " << run.out << "\nstderr: " << run.err << "\nviolations:\n" << describe(bad));
    CHECK(run.exited_ok());
    CHECK(run.out.find("report written") != std::string::npos);
    CHECK(Daemon::slurp(home + "/output/report.md").find("kernel tracepoints") != std::string::npos);
    std::string seen = gateway.received();
    CHECK(seen.find("GET /v2/search?q=kernel%20tracepoints") != std::string::npos);
    CHECK(seen.find("GET /v2/documents/1") != std::string::npos);
    CHECK(bad.empty());
    // Both calls were judged against the boundary's HTTP rules, and allowed.
    auto search =
        daemon.wait_record([](const Record& r) { return r.type == jr::RecordType::Tool && r.path == "/v2/search"; });
    REQUIRE(search);
    CHECK(search->verdict == jr::Verdict::Allow);
    CHECK(search->rule == "researcher.yaml:search-read");
}
