#include "judge/counters.hpp"

namespace stockade::judge {

void BoundedCounts::add(const std::string& key) {
    auto it = counts.find(key);
    if (it != counts.end())
        ++it->second;
    else if (counts.size() < kMaxKeys)
        counts.emplace(key, 1);
    else
        ++counts["(other)"];
}

}  // namespace stockade::judge
