#include "enforce/never_pins.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <optional>

#include "probe/file_id.hpp"

namespace stockade::enforce {

NeverPins::Released::~Released() {
    for (int fd : fds_) close(fd);
}

NeverPins::~NeverPins() {
    for (int fd : fds_) close(fd);
}

bool NeverPins::pin(const std::string& root, const std::string& name, const std::string& agent,
                    const std::string& rule, Released& evicted) {
    int fd = root.empty() ? -1 : open((root + name).c_str(), O_PATH | O_CLOEXEC);
    if (fd < 0) fd = open(name.c_str(), O_PATH | O_CLOEXEC);
    struct stat sb {};
    std::optional<probe::KernelFileId> id;
    if (fd >= 0 && fstat(fd, &sb) == 0) id = probe::kernel_file_id("/proc/self/fd/" + std::to_string(fd));
    if (!id) {
        if (fd >= 0) close(fd);
        return false;
    }
    if (max_ > 0 && pinned_.size() >= max_) {
        pinned_.erase(pinned_.begin());
        evicted.fds_.push_back(fds_.front());
        fds_.erase(fds_.begin());
    }
    pinned_.push_back({agent, id->dev, id->ino, S_ISDIR(sb.st_mode), rule});
    fds_.push_back(fd);
    return true;
}

NeverPins::Released NeverPins::drop_gone() {
    Released gone;
    for (size_t i = pinned_.size(); i-- > 0;) {
        struct stat sb {};
        if (fstat(fds_[i], &sb) == 0 && sb.st_nlink > 0) continue;
        gone.fds_.push_back(fds_[i]);
        pinned_.erase(pinned_.begin() + static_cast<std::ptrdiff_t>(i));
        fds_.erase(fds_.begin() + static_cast<std::ptrdiff_t>(i));
    }
    return gone;
}

}  // namespace stockade::enforce
