#include "policy/boundary_loader.hpp"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include "common/error.hpp"

namespace stockade::policy {

BoundaryLoader::BoundaryLoader(std::string agents_dir) : agents_dir_(std::move(agents_dir)) {
    event_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (event_fd_ < 0) throw Error(std::string("eventfd for the boundary loader: ") + std::strerror(errno));
    worker_ = std::thread([this] { work(); });
}

BoundaryLoader::~BoundaryLoader() {
    {
        std::lock_guard lk(mu_);
        stop_ = true;
    }
    cv_.notify_all();
    if (worker_.joinable()) worker_.join();
    ::close(event_fd_);
}

void BoundaryLoader::request(Job job) {
    {
        std::lock_guard lk(mu_);
        if (!pending_) {
            pending_ = std::move(job);
        } else {
            // One read answers both: the later reason, an operator's if either was, every ticket.
            pending_->why = job.why;
            pending_->explicit_request |= job.explicit_request;
            pending_->sighup |= job.sighup;
            pending_->tickets.insert(pending_->tickets.end(), job.tickets.begin(), job.tickets.end());
        }
    }
    cv_.notify_all();
}

std::optional<BoundaryLoader::Done> BoundaryLoader::take() {
    uint64_t n = 0;
    while (::read(event_fd_, &n, sizeof n) == sizeof n) {
    }
    std::optional<Done> out;
    {
        std::lock_guard lk(mu_);
        out = std::move(done_);
        done_.reset();
    }
    cv_.notify_all();  // a request made meanwhile may start now
    return out;
}

bool BoundaryLoader::busy() const {
    std::lock_guard lk(mu_);
    return reading_ || pending_ || done_;
}

void BoundaryLoader::work() {
    std::unique_lock lk(mu_);
    for (;;) {
        // A finished read waits for the loop to take it before the next starts: the loop installs
        // reads in the order they were made, and never two at once.
        cv_.wait(lk, [&] { return stop_ || (pending_ && !done_); });
        if (stop_) return;
        Job job = std::move(*pending_);
        pending_.reset();
        reading_ = true;
        lk.unlock();
        auto t0 = std::chrono::steady_clock::now();
        policy::LoadResult res = policy::load_boundaries({agents_dir_});
        double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
        lk.lock();
        reading_ = false;
        done_ = Done{std::move(job), std::move(res), ms};
        uint64_t one = 1;
        if (::write(event_fd_, &one, sizeof one) < 0) {
            // Only EAGAIN (counter full) is possible; the loop reads the counter empty anyway.
        }
    }
}

}  // namespace stockade::policy
