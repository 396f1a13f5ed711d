#include "guard/access_decoder.h"

#include <cpuid.h>

#include <atomic>

namespace zc::guard {
namespace {

// Instruction fields the width tables and the address computation need.
struct Insn {
  bool opsize16 = false, addr32 = false, seg_fs_gs = false;
  uint8_t rep = 0;        // 0xF2 / 0xF3 when present
  uint8_t mandatory = 0;  // SSE mandatory prefix (0x66, 0xF2, 0xF3) or 0
  bool rex_w = false, rex_x = false, rex_b = false;
  bool vex = false, evex = false, evex_bcst = false;
  uint8_t opmask = 0;  // EVEX.aaa: the k register that masks the elements (0: none)
  unsigned vl = 16;  // vector length in bytes (VEX.L / EVEX.L'L)
  int map = 0;       // 0: one-byte, 1: 0F, 2: 0F38, 3: 0F3A
  uint8_t op = 0;
  uint8_t reg = 0;   // ModRM.reg (the opcode extension of group opcodes)
};

class Reader {
 public:
  Reader(const uint8_t* p, size_t n) : p_(p), n_(n) {}
  bool ok() const { return !bad_; }
  uint8_t next() {
    if (i_ >= n_) { bad_ = true; return 0; }
    return p_[i_++];
  }
  int32_t s8() { return static_cast<int8_t>(next()); }
  int32_t s32() {
    uint32_t v = 0;
    for (int k = 0; k < 4; k++) v |= static_cast<uint32_t>(next()) << (8 * k);
    return static_cast<int32_t>(v);
  }
  uint64_t u64() {
    uint64_t v = 0;
    for (int k = 0; k < 8; k++) v |= static_cast<uint64_t>(next()) << (8 * k);
    return v;
  }
  void back() { if (i_ > 0) i_--; }

 private:
  const uint8_t* p_;
  size_t n_;
  size_t i_ = 0;
  bool bad_ = false;
};

// ModRM/SIB register numbers -> ucontext gregs.
constexpr int kGreg[16] = {REG_RAX, REG_RCX, REG_RDX, REG_RBX, REG_RSP, REG_RBP, REG_RSI, REG_RDI,
                           REG_R8,  REG_R9,  REG_R10, REG_R11, REG_R12, REG_R13, REG_R14, REG_R15};

constexpr uint8_t kMandatoryFromPp[4] = {0, 0x66, 0xF3, 0xF2};

uint64_t greg(const ucontext_t* uc, int r) { return static_cast<uint64_t>(uc->uc_mcontext.gregs[kGreg[r & 15]]); }

unsigned opsize(const Insn& x) { return x.rex_w ? 8 : x.opsize16 ? 2 : 4; }

// One-byte opcodes that take a ModRM byte.
bool map0_has_modrm(uint8_t op) {
  if (op < 0x40) return (op & 7) < 4;  // ALU ops 00-03, 08-0B, ...; 0x?4/0x?5 take an immediate
  if (op == 0x63 || op == 0x69 || op == 0x6B) return true;
  if (op >= 0x80 && op <= 0x8F) return true;
  if (op == 0xC0 || op == 0xC1 || op == 0xC6 || op == 0xC7) return true;
  if (op >= 0xD0 && op <= 0xD3) return true;
  if (op >= 0xD8 && op <= 0xDF) return true;
  return op == 0xF6 || op == 0xF7 || op == 0xFE || op == 0xFF;
}

bool map1_has_modrm(uint8_t op) {
  switch (op) {
    case 0x05: case 0x06: case 0x07: case 0x08: case 0x09: case 0x0B: case 0x0E:
    case 0x30: case 0x31: case 0x32: case 0x33: case 0x34: case 0x35: case 0x37:
    case 0x77: case 0xA0: case 0xA1: case 0xA2: case 0xA8: case 0xA9: case 0xAA:
      return false;
    default:
      if (op >= 0x80 && op <= 0x8F) return false;  // jcc rel32
      if (op >= 0xC8 && op <= 0xCF) return false;  // bswap
      return true;
  }
}

// Widths: 0 means unknown (the caller falls back to a conservative window).
unsigned width_map0(const Insn& x) {
  const uint8_t op = x.op;
  if (op < 0x40) return (op & 1) ? opsize(x) : 1;
  switch (op) {
    case 0x63: return 4;
    case 0x69: case 0x6B: case 0x81: case 0x83: case 0x85: case 0x87: case 0x89: case 0x8B:
    case 0xC1: case 0xC7: case 0xD1: case 0xD3: case 0xF7:
      return opsize(x);
    case 0x80: case 0x82: case 0x84: case 0x86: case 0x88: case 0x8A: case 0xC0: case 0xC6:
    case 0xD0: case 0xD2: case 0xF6: case 0xFE:
      return 1;
    case 0x8C: case 0x8E: return 2;
    case 0x8F: return x.opsize16 ? 2 : 8;  // pop r/m64
    case 0xFF:
      switch (x.reg) {
        case 0: case 1: return opsize(x);          // inc/dec
        case 2: case 4: return 8;                  // call/jmp near [m64]
        case 3: case 5: return x.rex_w ? 10 : 6;   // far: m16:64 / m16:32
        case 6: return x.opsize16 ? 2 : 8;         // push r/m64
        default: return 0;
      }
    case 0xD8: case 0xDA: return 4;                // x87 m32 / m32int
    case 0xDC: return 8;
    case 0xDE: return 2;
    case 0xD9: return x.reg <= 3 ? 4 : (x.reg == 5 || x.reg == 7) ? 2 : 28;
    case 0xDB: return x.reg <= 3 ? 4 : (x.reg == 5 || x.reg == 7) ? 10 : 0;
    case 0xDD: return x.reg <= 3 ? 8 : x.reg == 7 ? 2 : 108;
    case 0xDF: return x.reg <= 3 ? 2 : (x.reg == 5 || x.reg == 7) ? 8 : x.reg == 4 || x.reg == 6 ? 10 : 0;
    default: return 0;
  }
}

// Legacy-encoded 0F xx.
unsigned width_map1_legacy(const Insn& x) {
  const uint8_t m = x.mandatory, op = x.op;
  const unsigned scalar = m == 0xF3 ? 4 : m == 0xF2 ? 8 : 16;
  const unsigned mmx_or_xmm = m == 0x66 ? 16 : 8;
  switch (op) {
    case 0x10: case 0x11: case 0x51: case 0x58: case 0x59: case 0x5C: case 0x5D: case 0x5E: case 0x5F: case 0xC2:
      return scalar;
    case 0x12: case 0x13: case 0x16: case 0x17:
      return (m == 0xF3) ? 16 : 8;  // movsldup/movshdup read 16; movlps/movhps/movddup 8
    case 0x14: case 0x15: case 0x28: case 0x29: case 0x2B: case 0x54: case 0x55: case 0x56: case 0x57:
    case 0x5B: case 0xC6:
      return 16;
    case 0x18: case 0x0D: return 1;  // prefetch
    case 0x2A: return (m == 0xF3 || m == 0xF2) ? (x.rex_w ? 8 : 4) : 8;
    case 0x2C: case 0x2D: return m == 0xF3 ? 4 : 8;
    case 0x2E: case 0x2F: return m == 0x66 ? 8 : 4;
    case 0x52: case 0x53: return m == 0xF3 ? 4 : 16;
    case 0x5A: return m == 0xF3 ? 4 : m == 0xF2 ? 8 : m == 0x66 ? 16 : 8;
    case 0x6E: return x.rex_w ? 8 : 4;
    case 0x6F: case 0x7F: return (m == 0x66 || m == 0xF3) ? 16 : 8;
    case 0x70: return m ? 16 : 8;
    case 0x7E: return m == 0xF3 ? 8 : (x.rex_w ? 8 : 4);
    case 0xD6: return 8;
    case 0xAF: case 0xA4: case 0xA5: case 0xAC: case 0xAD: case 0xB1: case 0xC1: case 0xBA: case 0xBC: case 0xBD:
    case 0xB8:
      return opsize(x);
    case 0xB0: case 0xC0: case 0xB6: case 0xBE: return 1;
    case 0xB7: case 0xBF: return 2;
    case 0xC3: return x.rex_w ? 8 : 4;
    case 0xC4: return 2;
    case 0xC7: return x.reg == 1 ? (x.rex_w ? 16 : 8) : 0;  // cmpxchg8b/16b
    case 0xAE: return (x.reg == 2 || x.reg == 3) ? 4 : 0;   // ldmxcsr/stmxcsr; fxsave & co unknown
    case 0xF0: return 16;                                    // lddqu
    case 0xF7: return 0;                                     // maskmovq: implicit rdi
    default:
      if (op >= 0x40 && op <= 0x4F) return opsize(x);        // cmovcc
      if (op >= 0x90 && op <= 0x9F) return 1;                // setcc
      if ((op >= 0x60 && op <= 0x6D) || (op >= 0x74 && op <= 0x76) || (op >= 0xD1 && op <= 0xFE)) return mmx_or_xmm;
      return 0;  // bt/bts/btr/btc with a register offset reach far: unknown
  }
}

unsigned width_map2_legacy(const Insn& x) {
  const uint8_t op = x.op;
  if (op == 0xF0 || op == 0xF1) {
    if (x.mandatory == 0xF2) return op == 0xF0 ? 1 : opsize(x);  // crc32
    return opsize(x);                                             // movbe
  }
  switch (op) {
    case 0x20: case 0x23: case 0x25: case 0x30: case 0x33: case 0x35: return 8;
    case 0x21: case 0x24: case 0x31: case 0x34: return 4;
    case 0x22: case 0x32: return 2;
    default: return x.mandatory == 0x66 ? 16 : 8;
  }
}

unsigned width_map3_legacy(const Insn& x) {
  switch (x.op) {
    case 0x14: case 0x20: return 1;
    case 0x15: return 2;
    case 0x16: case 0x22: return x.rex_w ? 8 : 4;
    case 0x17: case 0x21: case 0x0A: return 4;
    case 0x0B: return 8;
    case 0x0F: return x.mandatory == 0x66 ? 16 : 8;
    default: return 16;
  }
}

// VEX- and EVEX-encoded. Full-vector operations access vl bytes; scalar, broadcast and
// conversion forms less. Unlisted opcodes are taken as full vector, which covers every
// non-gather operation of these maps.
unsigned width_vector(const Insn& x) {
  const uint8_t m = x.mandatory, op = x.op;
  const unsigned vl = x.vl;
  if (x.evex_bcst) return x.rex_w ? 8 : 4;  // {1toN}: one element is read
  if (x.map == 1) {
    switch (op) {
      case 0x10: case 0x11: case 0x51: case 0x58: case 0x59: case 0x5C: case 0x5D: case 0x5E: case 0x5F: case 0xC2:
        return m == 0xF3 ? 4 : m == 0xF2 ? 8 : vl;
      case 0x12: return m == 0xF3 ? vl : m == 0xF2 ? (vl == 16 ? 8 : vl) : 8;
      case 0x13: case 0x16: case 0x17: return m == 0xF3 ? vl : 8;
      case 0x2A: return x.rex_w ? 8 : 4;
      case 0x2C: case 0x2D: return m == 0xF3 ? 4 : 8;
      case 0x2E: case 0x2F: return m == 0x66 ? 8 : 4;
      case 0x5A: return m == 0xF3 ? 4 : m == 0xF2 ? 8 : m == 0x66 ? vl : vl / 2;
      case 0xE6: return m == 0xF3 ? vl / 2 : vl;
      case 0x6E: return x.rex_w ? 8 : 4;
      case 0x7E: return m == 0xF3 ? 8 : (x.rex_w ? 8 : 4);
      case 0xD6: return 8;
      case 0xC4: return 2;
      default: return vl;
    }
  }
  if (x.map == 2) {
    switch (op) {
      case 0x18: case 0x58: return 4;
      case 0x19: case 0x59: return 8;
      case 0x1A: case 0x5A: return 16;
      case 0x1B: case 0x5B: return 32;
      case 0x78: return 1;
      case 0x79: return 2;
      case 0x20: case 0x23: case 0x25: case 0x30: case 0x33: case 0x35: return vl / 2;
      case 0x21: case 0x24: case 0x31: case 0x34: return vl / 4;
      case 0x22: case 0x32: return vl / 8;
      case 0xF2: case 0xF3: case 0xF5: case 0xF6: case 0xF7: return x.rex_w ? 8 : 4;  // BMI
      default: return vl;
    }
  }
  if (x.map == 3) {
    switch (op) {
      case 0x14: case 0x20: return 1;
      case 0x15: return 2;
      case 0x16: case 0x22: return x.rex_w ? 8 : 4;
      case 0x17: case 0x21: return 4;
      case 0x18: case 0x19: case 0x38: case 0x39: return 16;
      case 0x1A: case 0x1B: case 0x3A: case 0x3B: return 32;
      case 0x1D: return vl / 2;
      case 0x0A: return 4;
      case 0x0B: return 8;
      default: return vl;
    }
  }
  return vl;
}

// The element size an EVEX opmask selects in, for full-vector forms glibc's string
// functions use with a mask (masked moves, compares, tests, min/max); 0 when not known,
// and then the whole vector counts as touched. Masked-out elements are neither read nor
// written and never fault, so for `vmovdqu8 %zmm16, (%rax){%k1}` (memset's tail below 64
// bytes) only the selected bytes are the access.
unsigned evex_mask_element(const Insn& x) {
  const uint8_t m = x.mandatory, op = x.op;
  const bool w = x.rex_w;
  if (x.map == 1) {
    switch (op) {
      case 0x6F: case 0x7F:  // vmovdqu8/16 (F2), vmovdqu32/64 (F3), vmovdqa32/64 (66)
        if (m == 0xF2) return w ? 2 : 1;
        if (m == 0xF3 || m == 0x66) return w ? 8 : 4;
        return 0;
      case 0x10: case 0x11: case 0x28: case 0x29:  // vmovups/vmovupd, vmovaps/vmovapd
        if (m == 0) return 4;
        if (m == 0x66) return 8;
        return 0;  // the scalar forms are not full vectors
      case 0x74: case 0x64: case 0xDA: case 0xDE: case 0xF8: case 0xFC: return m == 0x66 ? 1 : 0;  // b
      case 0x75: case 0x65: case 0xEA: case 0xEE: return m == 0x66 ? 2 : 0;                         // w
      case 0x76: case 0x66: return m == 0x66 ? 4 : 0;                                              // d
      case 0xDB: case 0xDF: case 0xEB: case 0xEF: return m == 0x66 ? (w ? 8 : 4) : 0;              // vpand/andn/or/xor d/q
      default: return 0;
    }
  }
  if (x.map == 2) {
    switch (op) {
      case 0x26: return (m == 0x66 || m == 0xF3) ? (w ? 2 : 1) : 0;  // vptestmb/w, vptestnmb/w
      case 0x27: return (m == 0x66 || m == 0xF3) ? (w ? 8 : 4) : 0;  // vptestmd/q, vptestnmd/q
      case 0x29: return m == 0x66 ? 8 : 0;                           // vpcmpeqq
      case 0x38: case 0x3C: return m == 0x66 ? 1 : 0;                // vpminsb, vpmaxsb
      case 0x39: case 0x3B: case 0x3D: case 0x3F: return m == 0x66 ? (w ? 8 : 4) : 0;  // vpmin/max s/u d/q
      case 0x3A: case 0x3E: return m == 0x66 ? 2 : 0;                // vpminuw, vpmaxuw
      default: return 0;
    }
  }
  if (x.map == 3) {
    switch (op) {
      case 0x3E: case 0x3F: return m == 0x66 ? (w ? 2 : 1) : 0;  // vpcmp(u)b/w
      case 0x1E: case 0x1F: return m == 0x66 ? (w ? 8 : 4) : 0;  // vpcmp(u)d/q
      case 0x25: return m == 0x66 ? (w ? 8 : 4) : 0;             // vpternlogd/q
      default: return 0;
    }
  }
  return 0;
}

// Opmask register k from the signal frame's XSAVE area (the kernel writes user frames in
// the standard format: the opmask component at the offset CPUID leaf 0xD, sub-leaf 5
// names). False when the frame has no such state.
bool frame_opmask(const ucontext_t* uc, unsigned k, uint64_t* out) {
  const uint8_t* fp = reinterpret_cast<const uint8_t*>(uc->uc_mcontext.fpregs);
  if (!fp || k > 7) return false;
  // struct _fpx_sw_bytes in the FXSAVE area's software-reserved bytes.
  uint32_t magic, xstate_size;
  uint64_t xfeatures;
  __builtin_memcpy(&magic, fp + 464, 4);
  __builtin_memcpy(&xfeatures, fp + 472, 8);
  __builtin_memcpy(&xstate_size, fp + 480, 4);
  constexpr uint32_t kXstateMagic1 = 0x46505853;  // FP_XSTATE_MAGIC1
  constexpr uint64_t kOpmaskBit = uint64_t{1} << 5;
  if (magic != kXstateMagic1 || !(xfeatures & kOpmaskBit)) return false;
  static std::atomic<uint32_t> offset{0};
  uint32_t off = offset.load(std::memory_order_relaxed);
  if (off == 0) {
    uint32_t a, b, c, d;
    if (!__get_cpuid_count(0xD, 5, &a, &b, &c, &d) || b == 0) return false;
    off = b;
    offset.store(off, std::memory_order_relaxed);
  }
  if (off + 64 > xstate_size) return false;
  uint64_t xstate_bv;
  __builtin_memcpy(&xstate_bv, fp + 512, 8);
  if (!(xstate_bv & kOpmaskBit)) { *out = 0; return true; }  // init state: every k is 0
  __builtin_memcpy(out, fp + off + 8 * k, 8);
  return true;
}

// Narrows a full-vector access [lo, lo + vl) to the elements its opmask selects: the
// first to the last selected one (the bytes between count too, conservatively).
bool masked_range(const Insn& x, const ucontext_t* uc, uintptr_t lo, uintptr_t* mlo, uintptr_t* mhi) {
  const unsigned e = evex_mask_element(x);
  uint64_t mask;
  if (!e || !frame_opmask(uc, x.opmask, &mask)) return false;
  const unsigned lanes = x.vl / e;
  if (lanes < 64) mask &= (uint64_t{1} << lanes) - 1;
  if (mask == 0) return false;
  *mlo = lo + static_cast<uintptr_t>(__builtin_ctzll(mask)) * e;
  *mhi = lo + static_cast<uintptr_t>(64 - __builtin_clzll(mask)) * e;
  return true;
}

bool is_vsib(const Insn& x) {
  if (!(x.vex || x.evex) || x.map != 2) return false;
  return (x.op >= 0x90 && x.op <= 0x93) || (x.op >= 0xA0 && x.op <= 0xA3) || x.op == 0xC6 || x.op == 0xC7;
}

void window(uintptr_t fault_addr, unsigned width, bool write, DecodedAccesses* out) {
  const uintptr_t w = width ? width : kUnknownAccessBytes;
  out->count = 1;
  out->at[0] = {fault_addr - (w - 1), fault_addr + w, write};
  out->decoded = false;
}

void whole_page(uintptr_t fault_addr, bool write, DecodedAccesses* out) {
  const uintptr_t page = fault_addr & ~uintptr_t{4095};
  out->count = 1;
  out->at[0] = {page, page + 4096, write};
  out->decoded = false;
}

// String instructions: the element at RSI and/or RDI for the current iteration. With a
// rep prefix and the trap flag each iteration faults, or is stepped, on its own.
bool string_accesses(const Insn& x, const ucontext_t* uc, DecodedAccesses* out) {
  const uint8_t op = x.op;
  if (x.map != 0) return false;
  unsigned size;
  bool src = false, dst = false, dst_write = false;
  switch (op) {
    case 0xA4: case 0xA5: size = op == 0xA4 ? 1 : opsize(x); src = dst = dst_write = true; break;  // movs
    case 0xA6: case 0xA7: size = op == 0xA6 ? 1 : opsize(x); src = dst = true; break;              // cmps
    case 0xAA: case 0xAB: size = op == 0xAA ? 1 : opsize(x); dst = dst_write = true; break;        // stos
    case 0xAC: case 0xAD: size = op == 0xAC ? 1 : opsize(x); src = true; break;                    // lods
    case 0xAE: case 0xAF: size = op == 0xAE ? 1 : opsize(x); dst = true; break;                    // scas
    case 0x6C: case 0x6D: size = op == 0x6C ? 1 : (x.opsize16 ? 2 : 4); dst = dst_write = true; break;  // ins
    case 0x6E: case 0x6F: size = op == 0x6E ? 1 : (x.opsize16 ? 2 : 4); src = true; break;              // outs
    default: return false;
  }
  const uint64_t mask = x.addr32 ? 0xFFFFFFFFull : ~0ull;
  out->count = 0;
  if (src) {
    // A segment override applies to the source only; FS/GS bases are not in the context.
    if (x.seg_fs_gs) return false;
    const uintptr_t a = static_cast<uintptr_t>(greg(uc, 6) & mask);
    out->at[out->count++] = {a, a + size, false};
  }
  if (dst) {
    const uintptr_t a = static_cast<uintptr_t>(greg(uc, 7) & mask);
    out->at[out->count++] = {a, a + size, dst_write};
  }
  out->decoded = true;
  // F2 on movs/stos is not architecturally a repeat; only F3 is taken as one.
  if (x.rep == 0xF3 && !x.addr32 && (op == 0xA4 || op == 0xA5 || op == 0xAA || op == 0xAB)) {
    out->rep_string = (op == 0xA4 || op == 0xA5) ? kRepMovs : kRepStos;
    out->rep_element = static_cast<uint8_t>(size);
  }
  return true;
}

}  // namespace

void decode_accesses(const uint8_t* code, size_t n, const ucontext_t* uc, uintptr_t fault_addr, bool fault_write,
                     DecodedAccesses* out) {
  Reader r(code, n);
  Insn x;
  uint8_t b = 0;
  int prefixes = 0;
  for (; prefixes < 15; prefixes++) {
    b = r.next();
    if (b == 0x66) { x.opsize16 = true; if (!x.mandatory || x.mandatory == 0x66) x.mandatory = 0x66; }
    else if (b == 0xF2 || b == 0xF3) { x.rep = b; x.mandatory = b; }
    else if (b == 0x67) x.addr32 = true;
    else if (b == 0x64 || b == 0x65) x.seg_fs_gs = true;
    else if (b == 0xF0 || b == 0x2E || b == 0x36 || b == 0x3E || b == 0x26) {}
    else break;
  }
  if (!r.ok() || prefixes >= 15) return window(fault_addr, 0, fault_write, out);
  if ((b & 0xF0) == 0x40) {  // REX
    x.rex_w = b & 8; x.rex_x = b & 2; x.rex_b = b & 1;
    b = r.next();
  }
  bool has_modrm;
  if (b == 0xC5) {
    const uint8_t v = r.next();
    x.vex = true; x.map = 1;
    x.vl = (v & 4) ? 32 : 16;
    x.mandatory = kMandatoryFromPp[v & 3];
    x.op = r.next();
    has_modrm = x.op != 0x77;
  } else if (b == 0xC4) {
    const uint8_t v1 = r.next(), v2 = r.next();
    x.vex = true;
    x.rex_x = !(v1 & 0x40); x.rex_b = !(v1 & 0x20);
    x.map = v1 & 0x1F;
    x.rex_w = v2 & 0x80;
    x.vl = (v2 & 4) ? 32 : 16;
    x.mandatory = kMandatoryFromPp[v2 & 3];
    x.op = r.next();
    has_modrm = !(x.map == 1 && x.op == 0x77);
  } else if (b == 0x62) {
    const uint8_t p0 = r.next(), p1 = r.next(), p2 = r.next();
    x.evex = true;
    x.rex_x = !(p0 & 0x40); x.rex_b = !(p0 & 0x20);
    x.map = p0 & 7;
    x.rex_w = p1 & 0x80;
    x.mandatory = kMandatoryFromPp[p1 & 3];
    const unsigned ll = (p2 >> 5) & 3;
    x.vl = ll == 0 ? 16 : ll == 1 ? 32 : 64;
    x.evex_bcst = (p2 & 0x10) != 0;  // with a memory operand: broadcast
    x.opmask = p2 & 7;
    x.op = r.next();
    has_modrm = true;
  } else if (b == 0x0F) {
    const uint8_t b2 = r.next();
    if (b2 == 0x38) { x.map = 2; x.op = r.next(); has_modrm = true; }
    else if (b2 == 0x3A) { x.map = 3; x.op = r.next(); has_modrm = true; }
    else { x.map = 1; x.op = b2; has_modrm = map1_has_modrm(b2); }
  } else {
    x.map = 0;
    x.op = b;
    has_modrm = map0_has_modrm(b);
  }
  if (!r.ok() || x.map < 0 || x.map > 3) return window(fault_addr, 0, fault_write, out);

  if (!has_modrm) {
    if (string_accesses(x, uc, out)) return;
    if (x.map == 0 && x.op == 0xD7) {  // xlat: [rbx + al]
      if (x.seg_fs_gs) return window(fault_addr, 1, false, out);
      const uintptr_t a = static_cast<uintptr_t>((greg(uc, 3) + (greg(uc, 0) & 0xFF)) & (x.addr32 ? 0xFFFFFFFFull : ~0ull));
      out->count = 1; out->at[0] = {a, a + 1, false}; out->decoded = true;
      return;
    }
    if (x.map == 0 && x.op >= 0xA0 && x.op <= 0xA3 && !x.seg_fs_gs) {  // mov with a 64-bit absolute address
      const uintptr_t a = x.addr32 ? static_cast<uint32_t>(r.s32()) : static_cast<uintptr_t>(r.u64());
      const unsigned w = (x.op & 1) ? opsize(x) : 1;
      if (r.ok()) { out->count = 1; out->at[0] = {a, a + w, x.op >= 0xA2}; out->decoded = true; return; }
    }
    // Stack operations (push, pop, call, ret) and anything else without an operand we
    // decode: a window around the fault.
    return window(fault_addr, 0, fault_write, out);
  }

  const uint8_t modrm = r.next();
  const unsigned mod = modrm >> 6, rm = modrm & 7;
  x.reg = (modrm >> 3) & 7;
  if (!r.ok() || mod == 3) return window(fault_addr, 0, fault_write, out);  // register operand: implicit access

  unsigned width;
  if (x.vex || x.evex) width = width_vector(x);
  else if (x.map == 0) width = width_map0(x);
  else if (x.map == 1) width = width_map1_legacy(x);
  else if (x.map == 2) width = width_map2_legacy(x);
  else width = width_map3_legacy(x);
  if (is_vsib(x)) return whole_page(fault_addr, fault_write, out);  // one address per element
  const bool write = fault_write;

  // Effective address.
  bool known = !x.seg_fs_gs;
  uint64_t ea = 0;
  bool rip_relative = false;
  if (rm == 4) {
    const uint8_t sib = r.next();
    const unsigned scale = sib >> 6;
    const unsigned index = ((sib >> 3) & 7) | (x.rex_x ? 8 : 0);
    const unsigned base = (sib & 7) | (x.rex_b ? 8 : 0);
    if (index != 4) ea += greg(uc, static_cast<int>(index)) << scale;
    if ((sib & 7) == 5 && mod == 0) ea += static_cast<uint64_t>(static_cast<int64_t>(r.s32()));
    else ea += greg(uc, static_cast<int>(base));
  } else if (rm == 5 && mod == 0) {
    rip_relative = true;  // needs the instruction's length: not computed
    (void)r.s32();
  } else {
    ea += greg(uc, static_cast<int>(rm | (x.rex_b ? 8 : 0)));
  }
  if (mod == 1) {
    // EVEX compresses disp8 by the operand size (N); for the forms listed above N is the
    // access width. Where it is not, the check below catches the wrong address.
    const int64_t scale = (x.evex && width) ? width : 1;
    ea += static_cast<uint64_t>(static_cast<int64_t>(r.s8()) * scale);
  } else if (mod == 2) {
    ea += static_cast<uint64_t>(static_cast<int64_t>(r.s32()));
  }
  if (x.addr32) ea &= 0xFFFFFFFFull;
  if (!r.ok() || rip_relative || !width) known = false;
  const uintptr_t lo = static_cast<uintptr_t>(ea);
  // The CPU reported a byte of this access: if the computed range does not hold it, the
  // decode is wrong somewhere; fall back to the window.
  if (known && fault_addr >= lo && fault_addr - lo < width) {
    uintptr_t mlo, mhi;
    out->count = 1;
    out->at[0] = {lo, lo + width, write};
    // A masked full-vector access touches only its selected elements; the CPU reported a
    // byte of one of them (else the narrowing is wrong and the whole vector stands).
    if (x.evex && x.opmask && !x.evex_bcst && width == x.vl && masked_range(x, uc, lo, &mlo, &mhi) &&
        fault_addr >= mlo && fault_addr < mhi)
      out->at[0] = {mlo, mhi, write};
    out->decoded = true;
    return;
  }
  return window(fault_addr, width, write, out);
}

}  // namespace zc::guard
