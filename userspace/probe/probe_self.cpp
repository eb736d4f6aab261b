// The kernel's self-protection state the daemon reads (bpf/self.bpf.h): who is tracked, which
// agent process signalled stockaded, how many stops were cancelled. Part of class Probe.
#include <bpf/libbpf.h>

#include "probe/probe.hpp"
#include "stockade_bpf.skel.h"

namespace stockade::probe {

std::optional<uint32_t> Probe::tracked_agent(uint32_t tgid) const {
    sk_track t{};
    if (bpf_map__lookup_elem(skel_->maps.tracked, &tgid, sizeof tgid, &t, sizeof t, 0) != 0) return std::nullopt;
    return t.agent_id;
}

std::optional<uint32_t> Probe::take_agent_signal(uint32_t pid) {
    uint32_t agent = 0;
    if (bpf_map__lookup_and_delete_elem(skel_->maps.agent_signals, &pid, sizeof pid, &agent, sizeof agent, 0) != 0)
        return std::nullopt;
    return agent;
}

uint64_t Probe::stops_cancelled() const { return __atomic_load_n(&skel_->bss->self_stops_cancelled, __ATOMIC_RELAXED); }

}  // namespace stockade::probe
