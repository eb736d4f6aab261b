// The kernel's holds the daemon reads (bpf/hold.bpf.h): whether a process is still held for the
// hold the daemon judged, or was released by someone else and killed. Part of class Probe.
#include <bpf/libbpf.h>

#include "probe/probe.hpp"
#include "stockade_bpf.skel.h"

namespace stockade::probe {

Probe::HoldState Probe::hold_state(uint32_t tgid) const {
    sk_hold h{};
    HoldState s;
    if (bpf_map__lookup_elem(skel_->maps.held, &tgid, sizeof tgid, &h, sizeof h, 0) != 0) return s;
    s.holds = h.holds;
    s.since_ns = h.since_ns;
    s.breaker = h.breaker;
    s.state = h.state == SK_HOLD_HELD       ? HoldState::Held
              : h.state == SK_HOLD_RELEASED ? HoldState::Released
              : h.state == SK_HOLD_BROKEN   ? HoldState::Broken
                                            : HoldState::None;
    return s;
}

void Probe::forget_hold(uint32_t tgid) { bpf_map__delete_elem(skel_->maps.held, &tgid, sizeof tgid, 0); }

}  // namespace stockade::probe
