// The UCX progress thread.
//
// It polls ucp_worker_progress while there is work, spins briefly after the last event
// (a reply often follows within microseconds), then arms the worker and sleeps in epoll on
// UCX's event descriptor plus our eventfd. It never touches JavaScript and never waits for
// the JavaScript thread: the guard engine's fault handler may be holding that thread until
// one of our completions releases it. While another thread spins in progress() (a
// synchronous wait on the JavaScript thread) this thread stands aside on a futex: that
// thread is progressing, and two pollers on a 2-CPU machine slow each other down.
#include <algorithm>
#include <sched.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>

#include "transports/guard_hook.h"
#include "guard/futex.h"
#include "transports/ucx/ucx_transport.h"

namespace zc::transport::ucx {

bool UcxTransport::setup_wakeup(std::string* err) {
  ucs_status_t st = ucp_worker_get_efd(worker_, &worker_fd_);
  if (st != UCS_OK) {
    *err = std::string("UCX worker event descriptor is not available: ") + ucs_status_string(st);
    return false;
  }
  wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  if (wake_fd_ < 0 || epoll_fd_ < 0) {
    *err = std::string("eventfd/epoll: ") + std::strerror(errno);
    return false;
  }
  struct epoll_event ev;
  std::memset(&ev, 0, sizeof(ev));
  ev.events = EPOLLIN;
  ev.data.fd = worker_fd_;
  if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, worker_fd_, &ev) != 0) {
    *err = std::string("epoll_ctl(worker fd): ") + std::strerror(errno);
    return false;
  }
  ev.data.fd = wake_fd_;
  if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &ev) != 0) {
    *err = std::string("epoll_ctl(eventfd): ") + std::strerror(errno);
    return false;
  }
  cpu_set_t cpus;
  shares_cpu_ = sched_getaffinity(0, sizeof(cpus), &cpus) == 0 && CPU_COUNT(&cpus) == 1;
  return true;
}

bool UcxTransport::start(std::string* err) {
  if (thread_.joinable()) return true;
  try {
    thread_ = std::thread([this] { progress_loop(); });
  } catch (const std::exception& e) {
    *err = std::string("progress thread could not start: ") + e.what();
    return false;
  }
  return true;
}

void UcxTransport::wake_progress_thread() {
  if (wake_fd_ < 0) return;
  uint64_t one = 1;
  ssize_t rc = write(wake_fd_, &one, sizeof(one));
  (void)rc;  // EAGAIN means the counter is already non-zero: the thread will wake anyway
}

void UcxTransport::posted_pending(bool is_send) {
  if (is_send) pending_sends_.fetch_add(1, std::memory_order_relaxed);
  // An operation is in flight and the thread sleeps in epoll (possibly with a long backoff
  // timeout): wake it, so whatever UCX left for progress to do is not delayed.
  if (sleeping_.load(std::memory_order_acquire)) wake_progress_thread();
}

void UcxTransport::caller_polling_begin() { caller_polling_.fetch_add(1, std::memory_order_acq_rel); }

void UcxTransport::caller_polling_end(bool handoff) {
  if (handoff) {
    caller_active_until_.store(0, std::memory_order_release);
  } else {
    caller_active_until_.store(now_ns() + uint64_t(options_.progress_grace_us) * 1000, std::memory_order_release);
  }
  if (caller_polling_.fetch_sub(1, std::memory_order_acq_rel) == 1 && handoff) {
    futex_wake_all(&caller_polling_);
    // The caller may have consumed the worker's events without re-arming; the thread must
    // not sleep in epoll on a descriptor that will stay quiet.
    if (sleeping_.load(std::memory_order_acquire)) wake_progress_thread();
  }
}

void UcxTransport::posted_without_poll(bool rounds) {
  // A plain send or receive: nothing; this thread looks at least once per grace period by
  // itself. A schedule of rounds: hand progress back now, as a poll that ends does.
  if (!rounds) return;
  caller_polling_begin();
  caller_polling_end(true);
}

void UcxTransport::defer(void (*fn)(void*), void* arg) {
  deferred_at_ns_.store(now_ns(), std::memory_order_relaxed);
  deferred_.push(fn, arg);
  posted_without_poll(true);  // out of a caller's way: this work is for the thread
  if (sleeping_.load(std::memory_order_seq_cst)) wake_progress_thread();
}

// A deferred call is a non-blocking collective's start, work for this thread while the
// program computes. Where the thread shares the program's one CPU, the post's wake made the
// kernel switch to it inside the post, and it ran the whole schedule there (a 1 MiB
// allreduce: both CMA reads and the reduction) before the post returned: the program got its
// thread back only when the collective was nearly done, and OSU's iallreduce overlap was 0%.
// So the thread, woken, first sleeps until this long after the post: the program is back in
// its own code when the thread's timer preempts it. A wait that comes sooner progresses the
// call itself. (Elsewhere the thread has a CPU to itself and starts at once.)
constexpr uint64_t kHandoffDelayNs = 20'000;

void UcxTransport::progress_loop() {
  if (auto started = guard_hook().progress_thread_started) started("ucx-progress");
  // The hand-off sleep is 20 us: without this the kernel's default timer slack (50 us) would
  // make it up to 70.
  if (shares_cpu_) prctl(PR_SET_TIMERSLACK, 1000UL, 0, 0, 0);

  const uint64_t spin_ns = uint64_t(options_.progress_spin_us) * 1000;
  uint64_t last_event = now_ns();
  int idle_timeout_ms = 1;
  while (!stop_.load(std::memory_order_acquire)) {
    int32_t polling = caller_polling_.load(std::memory_order_acquire);
    if (polling > 0) {
      // Bounded: if the caller vanished without caller_polling_end we still come back.
      // Wakes at least once per grace period: a caller whose poll finished its own request
      // ends polling without a wake (a system call per blocking call would cost more than a
      // small message), and the thread must take over soon after, not after 10 ms (an
      // isend posted right after a blocking call then went unprogressed while the program
      // computed).
      futex_wait(&caller_polling_, polling, int64_t(std::max<uint32_t>(options_.progress_grace_us, 100)) * 1000);
      last_event = now_ns();
      continue;
    }
    const uint64_t until = caller_active_until_.load(std::memory_order_acquire);
    const uint64_t t = now_ns();
    if (t < until) {
      // A caller polled a moment ago and will likely poll again: stay out of its way (and
      // leave the worker unarmed, so senders need not signal us) until the grace ends.
      futex_wait(&caller_polling_, 0, int64_t(until - t));
      last_event = now_ns();
      continue;
    }
    if (shares_cpu_ && deferred_.pending()) {
      const uint64_t since = t - deferred_at_ns_.load(std::memory_order_relaxed);
      if (since < kHandoffDelayNs) {
        const struct timespec nap = {0, long(kHandoffDelayNs - since)};
        nanosleep(&nap, nullptr);
        continue;
      }
    }
    unsigned n = progress();
    if (n > 0) {
      last_event = now_ns();
      idle_timeout_ms = 1;
      continue;
    }
    if (now_ns() - last_event < spin_ns) {
      cpu_relax();
      continue;
    }
    ucs_status_t st;
    {
      LockGuard g(lock_);
      st = ucp_worker_arm(worker_);
    }
    if (st == UCS_ERR_BUSY) {  // events arrived between progress and arm
      last_event = now_ns();
      continue;
    }
    // The timeout is insurance against work UCX queues without an event (a send parked for
    // lack of resources); it backs off so an idle rank costs almost nothing.
    sleeping_.store(true, std::memory_order_seq_cst);
    if (deferred_.pending()) {  // handed over after our last progress(): no sleep (defer)
      sleeping_.store(false, std::memory_order_release);
      continue;
    }
    struct epoll_event events[2];
    const int timeout = pending_sends_.load(std::memory_order_relaxed) > 0 ? 1 : idle_timeout_ms;
    int rc = epoll_wait(epoll_fd_, events, 2, timeout);
    sleeping_.store(false, std::memory_order_release);
    if (rc == 0) {
      idle_timeout_ms = idle_timeout_ms < 64 ? idle_timeout_ms * 2 : 64;
    } else {
      idle_timeout_ms = 1;
      for (int i = 0; i < rc; i++) {
        if (events[i].data.fd == wake_fd_) {
          uint64_t v;
          ssize_t r = read(wake_fd_, &v, sizeof(v));
          (void)r;
        }
      }
    }
    last_event = now_ns();
  }
}

}  // namespace zc::transport::ucx
