// A transport (progress) thread that touches a guarded buffer would wait for a release
// only it could perform. The engine aborts instead, with a message naming the thread and
// the request. Usage: guard_transport_abort [in|out]. Expected: killed by SIGABRT; exit 3
// if the access returned, 4 on setup failure; alarm(10) ends a hang with SIGALRM.
// guard_transport_abort neighbour: the transport thread writes bytes that only share the
// page (its own data next to a small receive buffer, e.g. malloc'ed): must exit 0.
#include <sys/mman.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <initializer_list>
#include <thread>

#include "guard/guard.h"

int main(int argc, char** argv) {
  const bool inbound = argc < 2 || strcmp(argv[1], "out") != 0;
  const bool neighbour = argc > 1 && strcmp(argv[1], "neighbour") == 0;
  alarm(10);
  char err[256];
  if (!zc::guard::init(zc::guard::Mode::Block, err, sizeof err)) { fprintf(stderr, "%s\n", err); return 4; }
  zc::guard::set_rank_for_reports(1);
  auto* mem = static_cast<unsigned char*>(mmap(nullptr, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  zc::guard::RequestInfo info;
  info.call = inbound ? "irecv" : "isend";
  info.peer = 0;
  info.tag = 99;
  info.bytes = 4096;
  info.request_id = 7;
  bool failed = false;
  if (neighbour) {
    zc::guard::GuardId id = zc::guard::acquire(mem + 1000, 64, zc::guard::Direction::Inbound, info, nullptr, &failed, err, sizeof err);
    if (failed) { fprintf(stderr, "%s\n", err); return 4; }
    std::thread progress([&] {
      zc::guard::mark_transport_thread("ucx-progress");
      volatile unsigned char* p = mem;
      for (int off : {0, 500, 960, 990, 999, 1064, 1100, 4095}) p[off] = 1;  // all outside [1000, 1064)
    });
    progress.join();
    zc::guard::release(id);
    printf("the transport thread wrote its neighbour bytes\n");
    return 0;
  }
  zc::guard::GuardId id = zc::guard::acquire(mem, 4096, inbound ? zc::guard::Direction::Inbound : zc::guard::Direction::Outbound,
                                             info, nullptr, &failed, err, sizeof err);
  if (failed) { fprintf(stderr, "%s\n", err); return 4; }
  std::thread progress([&] {
    zc::guard::mark_transport_thread("ucx-progress");
    volatile unsigned char* p = mem + 10;
    *p = 1;  // a write conflicts with both directions
  });
  progress.join();
  zc::guard::release(id);
  printf("the transport thread's access returned\n");
  return 3;
}
