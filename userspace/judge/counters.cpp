#include "judge/counters.hpp"

namespace stockade::judge {

void BoundedCounts::add(const std::string& key, uint64_t n) {
    auto it = counts.find(key);
    if (it != counts.end())
        it->second += n;
    else if (counts.size() < kMaxKeys)
        counts.emplace(key, n);
    else
        counts["(other)"] += n;
}

}  // namespace stockade::judge
