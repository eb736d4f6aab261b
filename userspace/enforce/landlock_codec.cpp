// The Landlock plan on the control socket (landlock.hpp): the daemon's answer to `landlock`.
#include <cereal/archives/json.hpp>
#include <cereal/types/string.hpp>
#include <cereal/types/vector.hpp>
#include <sstream>

#include "common/error.hpp"
#include "enforce/landlock.hpp"

namespace stockade::enforce {

template <class A>
void serialize(A& a, LandlockPlan::PathRule& r) {
    a(cereal::make_nvp("path", r.path), cereal::make_nvp("access", r.access));
}
template <class A>
void serialize(A& a, LandlockPlan& p) {
    a(cereal::make_nvp("abi", p.abi), cereal::make_nvp("handled_fs", p.handled_fs), cereal::make_nvp("paths", p.paths),
      cereal::make_nvp("handle_connect", p.handle_connect), cereal::make_nvp("handle_bind", p.handle_bind),
      cereal::make_nvp("connect_ports", p.connect_ports), cereal::make_nvp("bind_ports", p.bind_ports),
      cereal::make_nvp("scope_signal", p.scope_signal), cereal::make_nvp("notes", p.notes));
}

std::string encode_plan(const LandlockPlan& plan) {
    std::ostringstream out;
    {
        cereal::JSONOutputArchive ar(out, cereal::JSONOutputArchive::Options::NoIndent());
        LandlockPlan copy = plan;
        ar(cereal::make_nvp("plan", copy));
    }
    return out.str();
}

LandlockPlan decode_plan(const std::string& json) {
    LandlockPlan plan;
    try {
        std::istringstream in(json);
        cereal::JSONInputArchive ar(in);
        ar(cereal::make_nvp("plan", plan));
    } catch (const std::exception& e) {
        throw Error(std::string("the daemon's Landlock plan is malformed: ") + e.what());
    }
    return plan;
}

}  // namespace stockade::enforce
