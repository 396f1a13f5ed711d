// A tiny formatter for the fault handler: snprintf and iostreams may allocate or lock,
// so reports are assembled by hand in a fixed buffer and written with write(2).
#pragma once

#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>

namespace zc::guard {

class SignalSafeWriter {
 public:
  SignalSafeWriter& str(const char* s) {
    while (s && *s && len_ < sizeof buf_ - 1) buf_[len_++] = *s++;
    return *this;
  }
  SignalSafeWriter& dec(int64_t v) {
    if (v < 0) { str("-"); v = -v; }
    char tmp[24];
    int n = 0;
    do { tmp[n++] = static_cast<char>('0' + v % 10); v /= 10; } while (v && n < 23);
    while (n && len_ < sizeof buf_ - 1) buf_[len_++] = tmp[--n];
    return *this;
  }
  SignalSafeWriter& hex(uintptr_t v) {
    str("0x");
    char tmp[20];
    int n = 0;
    do { tmp[n++] = "0123456789abcdef"[v & 15]; v >>= 4; } while (v && n < 19);
    while (n && len_ < sizeof buf_ - 1) buf_[len_++] = tmp[--n];
    return *this;
  }
  // Writes everything to fd 2 and empties the buffer.
  void flush() {
    int saved = errno;
    size_t off = 0;
    while (off < len_) {
      ssize_t w = write(2, buf_ + off, len_ - off);
      if (w <= 0) break;
      off += static_cast<size_t>(w);
    }
    len_ = 0;
    errno = saved;
  }

 private:
  char buf_[4096];
  size_t len_ = 0;
};

}  // namespace zc::guard
