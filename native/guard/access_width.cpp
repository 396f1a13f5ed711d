#include "guard/access_width.h"

namespace zc::guard {
namespace {

// Two-byte (0F xx) opcodes. mandatory: 0x66, 0xF2, 0xF3 or 0 (the last SSE prefix seen).
unsigned width_0f(uint8_t op, uint8_t mandatory, bool rex_w, bool opsize16) {
  switch (op) {
    case 0x10: case 0x11:                     // movups/movupd/movss/movsd
    case 0x51: case 0x58: case 0x59: case 0x5C: case 0x5D: case 0x5E: case 0x5F:  // sqrt/add/mul/sub/min/div/max
      return mandatory == 0xF3 ? 4 : mandatory == 0xF2 ? 8 : 16;
    case 0x12: case 0x13: case 0x16: case 0x17:  // movlps/movhps/movlpd/movhpd
      return 8;
    case 0x28: case 0x29: case 0x2B:            // movaps/movapd/movntps
    case 0x54: case 0x55: case 0x56: case 0x57:  // and/andn/or/xor ps/pd
      return 16;
    case 0x74: case 0x75: case 0x76:             // pcmpeqb/w/d (memchr, strlen)
    case 0xDA: case 0xDE: case 0xEB: case 0xEF: case 0xF8: case 0xFC: case 0xE7:
      return mandatory == 0x66 ? 16 : 8;         // xmm with 66, mmx without
    case 0x6F: case 0x7F:                        // movq mm / movdqa / movdqu
      return mandatory == 0x66 || mandatory == 0xF3 ? 16 : 8;
    case 0x6E:                                   // movd/movq into a vector register
      return rex_w ? 8 : 4;
    case 0x7E:                                   // F3: movq xmm, m64; else movd/movq out
      return mandatory == 0xF3 ? 8 : (rex_w ? 8 : 4);
    case 0xD6:                                   // movq m64, xmm
      return 8;
    case 0x2E: case 0x2F:                        // ucomiss/ucomisd, comiss/comisd
      return mandatory == 0x66 ? 8 : 4;
    case 0x2A:                                   // cvtsi2ss/sd from memory
      return rex_w ? 8 : 4;
    case 0x2C: case 0x2D:                        // cvt(t)ss/sd2si
      return mandatory == 0xF2 ? 8 : 4;
    case 0x5A:                                   // cvtss2sd / cvtsd2ss
      return mandatory == 0xF3 ? 4 : mandatory == 0xF2 ? 8 : 8;
    case 0xB6: case 0xBE:                        // movzx/movsx from 8 bits
      return 1;
    case 0xB7: case 0xBF:                        // movzx/movsx from 16 bits
      return 2;
    case 0xC3:                                   // movnti
      return rex_w ? 8 : 4;
    case 0xB0:                                   // cmpxchg 8-bit
      return 1;
    case 0xB1: case 0xC1:                        // cmpxchg, xadd
      return rex_w ? 8 : opsize16 ? 2 : 4;
    default:
      return 0;
  }
}

}  // namespace

unsigned access_width(const uint8_t* ip) {
  bool opsize16 = false, rex_w = false;
  uint8_t mandatory = 0;
  int i = 0;
  // Legacy prefixes (at most 4 matter; stop at 14 bytes, the longest instruction).
  for (; i < 14; i++) {
    uint8_t b = ip[i];
    if (b == 0x66) { opsize16 = true; mandatory = 0x66; }
    else if (b == 0xF2 || b == 0xF3) mandatory = b;
    else if (b == 0xF0 || b == 0x67 || b == 0x2E || b == 0x36 || b == 0x3E || b == 0x26 || b == 0x64 || b == 0x65) {}
    else break;
  }
  if (i >= 14) return 0;
  uint8_t b = ip[i];
  if ((b & 0xF0) == 0x40) {  // REX
    rex_w = (b & 0x08) != 0;
    b = ip[++i];
  }
  const unsigned opsize = rex_w ? 8 : opsize16 ? 2 : 4;

  if (b == 0xC5 || b == 0xC4) {  // VEX: memcpy/memset's AVX moves, vmovsd/vmovss
    uint8_t pp, op, map;
    bool l256, vw = false;
    if (b == 0xC5) {
      uint8_t v = ip[i + 1];
      l256 = (v & 0x04) != 0;
      pp = v & 0x03;
      map = 1;
      op = ip[i + 2];
    } else {
      uint8_t v1 = ip[i + 1], v2 = ip[i + 2];
      map = v1 & 0x1F;
      vw = (v2 & 0x80) != 0;
      l256 = (v2 & 0x04) != 0;
      pp = v2 & 0x03;
      op = ip[i + 3];
    }
    const unsigned vec = l256 ? 32 : 16;
    if (map == 1) {
      if (op == 0x10 || op == 0x11) return pp == 2 ? 4 : pp == 3 ? 8 : vec;  // vmovss/vmovsd/vmovups
      if (op == 0x12 || op == 0x13 || op == 0x16 || op == 0x17 || op == 0xD6) return 8;
      if (op == 0x6E || op == 0x7E) return (pp == 2 && op == 0x7E) ? 8 : (vw ? 8 : 4);
      return vec;  // vmovdqu/vmovdqa/vpcmpeqb/...: the whole vector
    }
    if (map == 2 && (op == 0x78)) return 1;   // vpbroadcastb
    if (map == 2 && (op == 0x79)) return 2;   // vpbroadcastw
    if (map == 2 && (op == 0x58 || op == 0x18)) return 4;  // vpbroadcastd / vbroadcastss
    if (map == 2 && (op == 0x59 || op == 0x19)) return 8;  // vpbroadcastq / vbroadcastsd
    return vec;
  }
  if (b == 0x0F) {
    uint8_t op = ip[i + 1];
    if (op == 0x38 || op == 0x3A) return 0;  // three-byte opcodes: not decoded
    return width_0f(op, mandatory, rex_w, opsize16);
  }
  switch (b) {
    case 0x88: case 0x8A: case 0xC6:            // mov r/m8
    case 0x80: case 0x84: case 0x86: case 0xF6: case 0xFE:
    case 0xA4: case 0xAA: case 0xAC: case 0xA6: case 0xAE:  // movsb/stosb/lodsb/cmpsb/scasb
    case 0x00: case 0x02: case 0x08: case 0x0A: case 0x10: case 0x12: case 0x18: case 0x1A:
    case 0x20: case 0x22: case 0x28: case 0x2A: case 0x30: case 0x32: case 0x38: case 0x3A:
      return 1;
    case 0x89: case 0x8B: case 0xC7:            // mov r/m16/32/64
    case 0x81: case 0x83: case 0x85: case 0x87: case 0xF7: case 0xFF:
    case 0xA5: case 0xAB: case 0xAD: case 0xA7: case 0xAF:
    case 0x01: case 0x03: case 0x09: case 0x0B: case 0x11: case 0x13: case 0x19: case 0x1B:
    case 0x21: case 0x23: case 0x29: case 0x2B: case 0x31: case 0x33: case 0x39: case 0x3B:
    case 0xD1: case 0xD3: case 0xC1:            // shifts on memory
      return opsize;
    case 0xC0: case 0xD0: case 0xD2:
      return 1;
    case 0x63:                                   // movsxd
      return 4;
    default:
      return 0;
  }
}

}  // namespace zc::guard
