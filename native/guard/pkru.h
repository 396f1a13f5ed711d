// x86 protection keys (PKU): the CPU feature, the PKRU register, and the PKRU slot of a
// signal frame's XSAVE area. A signal handler runs with the kernel's default PKRU (only
// key 0 accessible) and sigreturn restores the PKRU saved in the frame, so:
//  - reading program memory that carries another key (V8 keeps its code under one) needs
//    the register opened around the read (with_all_keys_open);
//  - letting one instruction of the interrupted thread through a key means editing the
//    frame's saved PKRU (frame_pkru / set_frame_pkru), not the register.
#pragma once

#include <ucontext.h>

#include <cstddef>
#include <cstdint>

namespace zc::guard {

// True when the CPU has PKU and the kernel enabled it (CPUID.7.0:ECX.OSPKE). Computed once
// by pku_probe() outside signal context; RDPKRU/WRPKRU are #UD without it.
bool pku_enabled();
void pku_probe();

inline uint32_t rdpkru() {
  uint32_t eax, edx;
  asm volatile(".byte 0x0f,0x01,0xee" : "=a"(eax), "=d"(edx) : "c"(0) : "memory");
  return eax;
}
inline void wrpkru(uint32_t v) {
  asm volatile(".byte 0x0f,0x01,0xef" : : "a"(v), "c"(0), "d"(0) : "memory");
}

// Access-disable and write-disable bits of `key` in a PKRU value.
constexpr uint32_t pkru_ad(int key) { return 1u << (2 * key); }
constexpr uint32_t pkru_wd(int key) { return 2u << (2 * key); }
constexpr uint32_t pkru_bits(int key) { return 3u << (2 * key); }

// The PKRU the interrupted thread runs with again after the handler returns. False when
// the frame has no PKRU slot we understand (no XSAVE frame, PKRU not in its features).
bool frame_pkru(const ucontext_t* uc, uint32_t* pkru);
bool set_frame_pkru(ucontext_t* uc, uint32_t pkru);

// Takes the two guard keys from pkey_alloc (never assuming a number): inbound with access
// disabled, outbound with write disabled in the calling thread; threads created later
// inherit that PKRU, and threads that exist already deny every key they never enabled
// (the kernel's default PKRU). Returns false with the reason when keys cannot be used;
// the engine then protects pages with mprotect alone.
bool allocate_guard_keys(char* why, size_t whylen);

// Copies up to `n` bytes of program memory at `src` into `dst` from signal context,
// whatever keys the interrupted code had: WRPKRU opens every key around the read of the
// part on src's page; a part on the next page (an instruction crossing it) is read with
// process_vm_readv, which fails cleanly where nothing is mapped. Returns bytes copied.
size_t read_program_bytes(const void* src, uint8_t* dst, size_t n);

}  // namespace zc::guard
