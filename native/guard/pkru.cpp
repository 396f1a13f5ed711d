#include "guard/pkru.h"

#include <cpuid.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "guard/page_table.h"

namespace zc::guard {

namespace detail {
std::atomic<int> g_key_in{-1};
std::atomic<int> g_key_out{-1};
}  // namespace detail
using detail::g_key_in;
using detail::g_key_out;

namespace {

std::atomic<int> g_pku{-1};             // -1 unknown, 0 no, 1 yes
std::atomic<uint32_t> g_pkru_offset{0};  // offset of PKRU in the standard XSAVE format

// struct _fpx_sw_bytes sits at byte 464 of the FXSAVE area when the frame is XSAVE.
constexpr uint32_t kFpXstateMagic1 = 0x46505853;
constexpr size_t kSwBytesOffset = 464;
constexpr size_t kXstateBvOffset = 512;
constexpr uint64_t kPkruFeature = uint64_t{1} << 9;

struct SwBytes {
  uint32_t magic1;
  uint32_t extended_size;
  uint64_t xfeatures;
  uint32_t xstate_size;
  uint32_t padding[7];
};

uint8_t* pkru_slot(const ucontext_t* uc) {
  const uint32_t off = g_pkru_offset.load(std::memory_order_relaxed);
  if (off == 0 || uc->uc_mcontext.fpregs == nullptr) return nullptr;
  uint8_t* fx = reinterpret_cast<uint8_t*>(uc->uc_mcontext.fpregs);
  SwBytes sw;
  memcpy(&sw, fx + kSwBytesOffset, sizeof sw);
  if (sw.magic1 != kFpXstateMagic1 || !(sw.xfeatures & kPkruFeature) || sw.xstate_size < off + 4) return nullptr;
  return fx + off;
}

// A plain byte loop the compiler cannot move out of the WRPKRU window (volatile reads).
void copy_bytes(uint8_t* dst, const void* src, size_t n) {
  const volatile uint8_t* s = static_cast<const volatile uint8_t*>(src);
  for (size_t i = 0; i < n; i++) dst[i] = s[i];
}

}  // namespace

void pku_probe() {
  if (g_pku.load() >= 0) return;
  unsigned a, b, c, d;
  int yes = 0;
  if (__get_cpuid_count(7, 0, &a, &b, &c, &d) && (c & (1u << 4))) {  // OSPKE
    unsigned ea, eb, ec, ed;
    if (__get_cpuid_count(0xD, 9, &ea, &eb, &ec, &ed) && ea >= 8) {  // PKRU state: size, offset
      g_pkru_offset.store(eb);
      yes = 1;
    }
  }
  g_pku.store(yes);
}


bool allocate_guard_keys(char* why, size_t whylen) {
  if (g_key_in.load() >= 0) return true;
  pku_probe();
  if (!pku_enabled()) {
    snprintf(why, whylen, "the CPU or kernel has no protection keys (CPUID OSPKE)");
    return false;
  }
  const int in = pkey_alloc(0, PKEY_DISABLE_ACCESS);
  if (in < 0) {
    snprintf(why, whylen, "pkey_alloc: %s", strerror(errno));
    return false;
  }
  const int out = pkey_alloc(0, PKEY_DISABLE_WRITE);
  if (out < 0) {
    snprintf(why, whylen, "pkey_alloc (second key): %s", strerror(errno));
    pkey_free(in);
    return false;
  }
  if (in > 15 || out > 15) {  // page_state keeps a key in 4 bits
    snprintf(why, whylen, "pkey_alloc returned key %d/%d, above 15", in, out);
    pkey_free(in);
    pkey_free(out);
    return false;
  }
  g_key_out.store(out);
  g_key_in.store(in);
  return true;
}

bool pku_enabled() { return g_pku.load(std::memory_order_relaxed) == 1; }

bool frame_pkru(const ucontext_t* uc, uint32_t* pkru) {
  uint8_t* slot = pkru_slot(uc);
  if (!slot) return false;
  uint64_t bv;
  memcpy(&bv, reinterpret_cast<uint8_t*>(uc->uc_mcontext.fpregs) + kXstateBvOffset, sizeof bv);
  // A component in its init state (XSTATE_BV bit clear) reads as zero: every key open.
  if (!(bv & kPkruFeature)) { *pkru = 0; return true; }
  memcpy(pkru, slot, sizeof *pkru);
  return true;
}

bool set_frame_pkru(ucontext_t* uc, uint32_t pkru) {
  uint8_t* slot = pkru_slot(uc);
  if (!slot) return false;
  uint8_t* bvp = reinterpret_cast<uint8_t*>(uc->uc_mcontext.fpregs) + kXstateBvOffset;
  uint64_t bv;
  memcpy(&bv, bvp, sizeof bv);
  memcpy(slot, &pkru, sizeof pkru);
  bv |= kPkruFeature;  // else XRSTOR puts PKRU in its init state and ignores the slot
  memcpy(bvp, &bv, sizeof bv);
  return true;
}

size_t read_program_bytes(const void* src, uint8_t* dst, size_t n) {
  const uintptr_t a = reinterpret_cast<uintptr_t>(src);
  const size_t on_page = 4096 - (a & 4095);
  const size_t first = n < on_page ? n : on_page;
  // The first part is on the page of an instruction the CPU just fetched: mapped.
  if (pku_enabled()) {
    const uint32_t saved = rdpkru();
    wrpkru(0);
    copy_bytes(dst, src, first);
    wrpkru(saved);
  } else {
    copy_bytes(dst, src, first);
  }
  if (first == n) return n;
  const int saved_errno = errno;
  struct iovec local = {dst + first, n - first};
  struct iovec remote = {reinterpret_cast<void*>(a + first), n - first};
  ssize_t got = process_vm_readv(getpid(), &local, 1, &remote, 1, 0);
  errno = saved_errno;
  return first + (got > 0 ? static_cast<size_t>(got) : 0);
}

}  // namespace zc::guard
