#include "guard/observation.h"

#include "guard/futex.h"
#include "guard/guard_engine.h"
#include "guard/guard_table.h"
#include "guard/signal_safe_writer.h"

namespace zc::guard {

void set_transfer_done(GuardId id, bool done) {
  if (id < 0 || static_cast<size_t>(id) >= kMaxGuards) return;
  Slot& s = slots()[id];
  s.transfer_done.store(done ? 1 : 0, std::memory_order_release);
  if (done) futex_wake_all(&s.seq);  // accesses waiting for this transfer go on (reported already)
}

bool transfer_done(size_t index) { return slots()[index].transfer_done.load(std::memory_order_acquire) != 0; }

bool report_conflicting_post(const void* addr, size_t len, bool post_writes, const RequestInfo& post) {
  if (mode() != Mode::Strict || len == 0) return false;
  const uintptr_t lo = reinterpret_cast<uintptr_t>(addr);
  size_t idx;
  SlotView v;
  if (!find_conflict(lo, lo + len, post_writes, &idx, &v)) return false;
  Slot& s = slots()[idx];
  if (s.reported_seq.exchange(v.seq) == v.seq) return true;  // this guard was reported already
  engine().reports.fetch_add(1);
  const bool owner_sends = v.dir == Direction::Outbound;
  const char* hazard = owner_sends ? "write-to-send-buffer" : post_writes ? "write-to-receive-buffer" : "read-of-receive-buffer";
  SignalSafeWriter w;
  w.str("ERROR: zcmpi: ").str(hazard).str(" on rank ").dec(engine().rank.load()).str(": ").str(post.call)
      .str(" (request #").dec(static_cast<int64_t>(post.request_id)).str(") was posted on bytes of ")
      .str(owner_sends ? "a send" : "a receive").str(" before that request completed\n");
  const int32_t peer = s.peer.load();
  const int64_t tag = s.tag.load();
  w.str("    request #").dec(static_cast<int64_t>(s.request_id.load())).str(": ").str(s.call.load());
  w.str(owner_sends ? " to rank " : " from ");
  if (peer < 0) w.str("any source");
  else {
    if (!owner_sends) w.str("rank ");
    w.dec(peer);
  }
  w.str(", tag ");
  if (tag < 0) w.str("any"); else w.dec(tag);
  w.str(", ").dec(static_cast<int64_t>(s.bytes.load())).str(" bytes\n");
  w.flush();
  const char* stack = s.stack.load(std::memory_order_acquire);  // null: posted without a stack
  if (stack && stack[0]) {
    w.str("    posted at:\n");
    w.flush();
    for (const char* p = stack; *p;) {
      const char* eol = p;
      while (*eol && *eol != '\n') eol++;
      char line[512];
      size_t n = static_cast<size_t>(eol - p) < sizeof line - 1 ? static_cast<size_t>(eol - p) : sizeof line - 1;
      for (size_t i = 0; i < n; i++) line[i] = p[i];
      line[n] = '\0';
      w.str("      ").str(line).str("\n");
      w.flush();
      p = *eol ? eol + 1 : eol;
    }
  }
  w.str("    the new request is ordered like the program access it is (it waits only if the transfer is still in flight); the rank will exit with status 66\n");
  w.flush();
  return true;
}

}  // namespace zc::guard
