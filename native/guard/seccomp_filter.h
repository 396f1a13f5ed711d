// The builder of zcmpi's two seccomp filters (futex_trap.cpp): classic BPF with forward
// jumps to shared exits, and the prologue both filters start with, which lets through every
// system call not made from libc's own text. Its own header so the prologue can be tested
// against text placed anywhere, across a 4 GiB boundary included
// (test/native/guard_filter_prologue.cpp), which address randomisation does to libc itself
// too rarely to see.
#pragma once

#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>

#include <cstddef>
#include <cstdint>

namespace zc::guard {

// [start, end) of the process's address space.
struct AddressRange {
  uintptr_t start = 0, end = 0;
};

// A classic BPF program with forward jumps to two shared exits.
class FilterBuilder {
 public:
  static constexpr int kAllow = -1, kTrap = -2, kIgnore = -3, kNext = 0;
  void load(uint32_t off) { add(BPF_STMT(BPF_LD | BPF_W | BPF_ABS, off), kNext, kNext); }
  void alu_and(uint32_t k) { add(BPF_STMT(BPF_ALU | BPF_AND | BPF_K, k), kNext, kNext); }
  // Jumps: kNext continues, kAllow / kTrap exit, a positive n skips n instructions.
  void jump(uint16_t op, uint32_t k, int jt, int jf) { add(BPF_JUMP(BPF_JMP | op | BPF_K, k, 0, 0), jt, jf); }
  // Allows every call that is not an x86-64 call made from libc's text (both filters start
  // so). Classic BPF compares 32-bit words, so the instruction pointer (the address after
  // the syscall instruction) is tested as its upper word, then its lower one. The text is
  // a few MiB: it lies in one 4 GiB-aligned half or crosses one boundary between two.
  void only_libc_calls(const AddressRange& text) {
    const uint32_t ip = offsetof(struct seccomp_data, instruction_pointer);
    load(offsetof(struct seccomp_data, arch));
    jump(BPF_JEQ, AUDIT_ARCH_X86_64, kNext, kAllow);
    const uint32_t hi = static_cast<uint32_t>(text.start >> 32), lo = static_cast<uint32_t>(text.start);
    const uint32_t end_lo = static_cast<uint32_t>(text.end);
    load(ip + 4);
    if ((text.start >> 32) == ((text.end - 1) >> 32)) {
      jump(BPF_JEQ, hi, kNext, kAllow);
      load(ip);
      if (end_lo == 0) {  // ends at a 4 GiB boundary: the rest of the half is in the text
        jump(BPF_JGE, lo, kNext, kAllow);
        return;
      }
      jump(BPF_JGE, lo, kNext, kAllow);
      jump(BPF_JGE, end_lo, kAllow, kNext);
      return;
    }
    // Across a 4 GiB boundary (address randomisation puts it there about once in a few
    // thousand processes): the upper half from its start, or the lower half up to its end.
    jump(BPF_JEQ, hi, kNext, 2);      // -> the second word's test
    load(ip);
    jump(BPF_JGE, lo, 3, kAllow);     // -> past this prologue: in libc
    jump(BPF_JEQ, hi + 1, kNext, kAllow);
    load(ip);
    jump(BPF_JGE, end_lo, kAllow, kNext);
  }
  bool finish(uint32_t trap_data, struct sock_filter* out, size_t cap, size_t* n) {
    const size_t trap = n_, allow = n_ + 1, ignore = n_ + 2;
    if (ignore + 1 > cap) return false;
    for (size_t i = 0; i < n_; i++) {
      out[i] = f_[i];
      if (BPF_CLASS(f_[i].code) != BPF_JMP) continue;
      out[i].jt = static_cast<uint8_t>(target(i, jt_[i], trap, allow, ignore));
      out[i].jf = static_cast<uint8_t>(target(i, jf_[i], trap, allow, ignore));
    }
    out[trap] = BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRAP | trap_data);
    out[allow] = BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
    out[ignore] = BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | 0);  // returns 0, does nothing
    *n = ignore + 1;
    return true;
  }

 private:
  static size_t target(size_t i, int j, size_t trap, size_t allow, size_t ignore) {
    if (j == kIgnore) return ignore - i - 1;
    if (j == kAllow) return allow - i - 1;
    if (j == kTrap) return trap - i - 1;
    return static_cast<size_t>(j);
  }
  void add(struct sock_filter ins, int jt, int jf) {
    if (n_ >= kMax) return;
    f_[n_] = ins;
    jt_[n_] = jt;
    jf_[n_] = jf;
    n_++;
  }
  static constexpr size_t kMax = 80;
  struct sock_filter f_[kMax];
  int jt_[kMax], jf_[kMax];
  size_t n_ = 0;
};

}  // namespace zc::guard
