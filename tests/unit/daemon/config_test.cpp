// The daemon's configuration file: the packaged example is all defaults, every key parses, and a
// bad value is refused at its line and column.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "common/error.hpp"
#include "daemon/config.hpp"

using namespace stockade;

namespace {

std::string write_tmp(const std::string& text) {
    std::string path = std::filesystem::temp_directory_path() / ("stockade-config-" + std::to_string(getpid()) + ".yaml");
    std::ofstream(path) << text;
    return path;
}

}  // namespace

TEST_CASE("the packaged configuration is the defaults", "[config]") {
    auto c = daemon::load_config(std::string(STOCKADE_SOURCE_DIR) + "/packaging/config/stockade.yaml", true);
    daemon::Config d;
    CHECK(c.agents_dir == d.agents_dir);
    CHECK(c.tls_uprobes);
    CHECK(c.tls_libraries.empty());
    CHECK(c.ring_bytes == d.ring_bytes);
}

TEST_CASE("service_executors: absolute paths, errors located", "[config]") {
    auto path = write_tmp("service_executors: [/opt/systemd/systemd-executor]\n");
    CHECK(daemon::load_config(path, true).service_executors ==
          std::vector<std::string>{"/opt/systemd/systemd-executor"});
    write_tmp("metrics_dir: \"\"\nservice_executors: [systemd-executor]\n");
    try {
        daemon::load_config(path, true);
        FAIL("a bare name was accepted");
    } catch (const LocatedError& e) {
        CHECK(e.line() == 2);
        CHECK(std::string(e.what()).find("absolute") != std::string::npos);
    }
    std::filesystem::remove(path);
}

TEST_CASE("tls keys", "[config]") {
    auto path = write_tmp("tls_uprobes: false\ntls_libraries: [/opt/app/bin/app, /usr/lib/libssl.so.3]\n");
    auto c = daemon::load_config(path, true);
    CHECK_FALSE(c.tls_uprobes);
    CHECK(c.tls_libraries == std::vector<std::string>{"/opt/app/bin/app", "/usr/lib/libssl.so.3"});

    write_tmp("ring_buffer_bytes: 4096\ntls_libraries: [relative/libssl.so.3]\n");
    try {
        daemon::load_config(path, true);
        FAIL("a relative path was accepted");
    } catch (const LocatedError& e) {
        CHECK(e.line() == 2);
        CHECK(std::string(e.what()).find("absolute") != std::string::npos);
    }
    write_tmp("tls_libraries: /usr/lib/libssl.so.3\n");
    CHECK_THROWS_AS(daemon::load_config(path, true), LocatedError);
    write_tmp("tls_uprobe: true\n");  // misspelt
    CHECK_THROWS_WITH(daemon::load_config(path, true), Catch::Contains("unknown key \"tls_uprobe\""));
    std::filesystem::remove(path);
}
