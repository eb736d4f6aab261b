#include "judge/approvals.hpp"

namespace stockade::judge {

uint64_t ApprovalQueue::add(Approval a) {
    if (pending_.size() >= kMaxPending) return 0;
    a.id = next_id_++;
    a.record.approval = a.id;
    uint64_t id = a.id;
    pending_.emplace(id, std::move(a));
    return id;
}

std::optional<Approval> ApprovalQueue::take(uint64_t id) {
    auto it = pending_.find(id);
    if (it == pending_.end()) return std::nullopt;
    Approval a = std::move(it->second);
    pending_.erase(it);
    return a;
}

std::vector<uint64_t> ApprovalQueue::expired(uint64_t now_ns) const {
    std::vector<uint64_t> out;
    for (auto& [id, a] : pending_)  // ids grow with time: the map's order is the queue's
        if (a.deadline_ns <= now_ns) out.push_back(id);
    return out;
}

bool ApprovalQueue::waiting(uint32_t pid, uint64_t start_ns) const {
    for (auto& [id, a] : pending_)
        if (a.pid == pid && a.start_ns == start_ns) return true;
    return false;
}

std::vector<Approval> ApprovalQueue::take_process(uint32_t pid, uint64_t start_ns) {
    std::vector<Approval> out;
    for (auto it = pending_.begin(); it != pending_.end();) {
        if (it->second.pid == pid && it->second.start_ns == start_ns) {
            out.push_back(std::move(it->second));
            it = pending_.erase(it);
        } else {
            ++it;
        }
    }
    return out;
}

}  // namespace stockade::judge
