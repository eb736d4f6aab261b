// Patterns too long or with too many components are refused with their place in the file, and
// the ones within the limits still resolve symlinks (now by bisection).
#include <catch2/catch.hpp>

#include "helpers.hpp"
#include "policy/pattern.hpp"

using namespace stockade::policy;
using namespace stockade::policy::test;

namespace {

// "/c/c/.../c" with n components.
std::string components(size_t n, const std::string& c = "c") {
    std::string s;
    for (size_t i = 0; i < n; ++i) s += "/" + c;
    return s;
}

std::vector<Diagnostic> errors_of(const std::string& yaml) {
    auto res = load_boundary_text("rules/big.yaml", yaml);
    CHECK_FALSE(res.ok());
    std::vector<Diagnostic> out;
    for (auto& d : res.diagnostics)
        if (d.error) out.push_back(d);
    return out;
}

const std::string kHead = "agent: big\nmatch:\n  unit: agent-big.service\nfiles:\n  read:\n";  // lines 1-5

}  // namespace

TEST_CASE("patterns of 50,000 and 500,000 components are refused at file:line:column", "[load][limits]") {
    for (size_t n : {size_t(50'000), size_t(500'000)}) {
        auto errs = errors_of(kHead + "    - /ok/**\n    - " + components(n) + "/**\n");
        INFO(all(errs));
        REQUIRE(errs.size() == 1);
        CHECK_THAT(errs[0].str(), Catch::Matchers::StartsWith("rules/big.yaml:7:7: error: files.read: pattern "));
        // Over both limits; the byte limit is reported (it is checked first).
        CHECK_THAT(errs[0].message, Catch::Matchers::Contains(std::to_string(2 * n + 3) + " bytes long; the limit is 4095"));
    }
}

TEST_CASE("the component limit applies within the byte limit", "[load][limits]") {
    std::string over = components(kMaxPatternComponents + 1);
    REQUIRE(over.size() <= kMaxPatternBytes);
    auto errs = errors_of(kHead + "    - " + over + "\n");
    INFO(all(errs));
    REQUIRE(errs.size() == 1);
    CHECK(errs[0].line == 6);
    CHECK(errs[0].column == 7);
    CHECK_THAT(errs[0].message, Catch::Matchers::Contains("has 513 components; the limit is 512"));

    auto at_limit = load_boundary_text("rules/big.yaml", kHead + "    - " + components(kMaxPatternComponents) + "\n");
    INFO(all(at_limit.diagnostics));
    CHECK(at_limit.ok());
}

TEST_CASE("a pattern over the byte limit with few components is refused", "[load][limits]") {
    std::string one_long = "/" + std::string(kMaxPatternBytes, 'x');
    auto errs = errors_of(kHead + "    - " + one_long + "\n");
    REQUIRE(errs.size() == 1);
    CHECK_THAT(errs[0].message, Catch::Matchers::Contains("4096 bytes long"));
}

TEST_CASE("the limits also apply after ~ is expanded", "[limits]") {
    std::string err;
    std::string home = components(kMaxPatternComponents - 1, "h");
    CHECK(prepare_pattern("~/a", home, err) == home + "/a");
    CHECK(err.empty());
    CHECK(prepare_pattern("~/a/b", home, err).empty());
    CHECK_THAT(err, Catch::Matchers::Contains("components; the limit is 512"));
}

TEST_CASE("the longest resolvable prefix is found among many components", "[limits]") {
    TempDir dir;
    std::filesystem::create_directories(dir / "real/a/b/c");
    std::filesystem::create_symlink(dir / "real", dir / "link");
    char buf[PATH_MAX];
    REQUIRE(::realpath(dir.path().c_str(), buf));
    std::string real = buf;
    for (size_t missing : {size_t(0), size_t(1), size_t(2), size_t(300)}) {
        std::string tail = components(missing, "m");
        CHECK(resolve_leading_symlinks(dir / "link/a/b/c" + tail + "/*.txt") == real + "/real/a/b/c" + tail + "/*.txt");
        CHECK(resolve_leading_symlinks(dir / "link/a" + tail) == real + "/real/a" + tail);
    }
    CHECK(resolve_leading_symlinks("/") == "/");
    CHECK(resolve_leading_symlinks("/**") == "/**");
    // A file on the way ends the resolvable part.
    std::ofstream(dir / "real/a/file") << "x";
    CHECK(resolve_leading_symlinks(dir / "link/a/file/x") == real + "/real/a/file/x");
}
