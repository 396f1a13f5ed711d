// Native code touching guarded memory as programs and other addons do: a memset or a byte
// sum on the JS thread, the same on another thread, a fork child writing, a genuine crash.
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <thread>

#include "args.h"
#include "guard/guard.h"
#include "test_helpers.h"

namespace zc::test_addon {
namespace {

// nativeFill(view, value): memset from C++ on the JS thread.
Napi::Value NativeFill(const Napi::CallbackInfo& info) {
  zc::bindings::ByteRange r = RangeArg(info, 0, "view");
  memset(r.data, IntArg(info, 1, "value"), r.length);
  return info.Env().Undefined();
}

// nativeSum(view): byte sum from C++ on the JS thread.
Napi::Value NativeSum(const Napi::CallbackInfo& info) {
  zc::bindings::ByteRange r = RangeArg(info, 0, "view");
  const volatile unsigned char* p = static_cast<const unsigned char*>(r.data);
  double sum = 0;
  for (size_t i = 0; i < r.length; i++) sum += p[i];
  return Napi::Number::New(info.Env(), sum);
}

// threadTouch(view, write, value?): the same from a thread that is not the JS thread (a
// thread-pool worker); joins it.
Napi::Value ThreadTouch(const Napi::CallbackInfo& info) {
  zc::bindings::ByteRange r = RangeArg(info, 0, "view");
  bool write = info[1].ToBoolean();
  int value = info.Length() > 2 && info[2].IsNumber() ? info[2].As<Napi::Number>().Int32Value() : 0;
  double sum = 0;
  std::thread t([&] {
    zc::guard::ensure_alt_stack();
    if (write) memset(r.data, value, r.length);
    const volatile unsigned char* p = static_cast<const unsigned char*>(r.data);
    for (size_t i = 0; i < r.length; i++) sum += p[i];
  });
  t.join();
  return Napi::Number::New(info.Env(), sum);
}

// forkChildWrites(view): the child writes to the view (it must hold no guards) and exits 0
// on success; returns its status (128 + signal when killed).
Napi::Value ForkChildWrites(const Napi::CallbackInfo& info) {
  zc::bindings::ByteRange r = RangeArg(info, 0, "view");
  pid_t pid = fork();
  if (pid == 0) {
    alarm(10);
    memset(r.data, 0x5a, r.length);
    _exit(static_cast<unsigned char*>(r.data)[0] == 0x5a ? 0 : 3);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  if (WIFSIGNALED(status)) return Napi::Number::New(info.Env(), 128 + WTERMSIG(status));
  return Napi::Number::New(info.Env(), WEXITSTATUS(status));
}

// segfaultForTest(address): a genuine bug, a write through a bad pointer. Must still end
// the process with SIGSEGV.
Napi::Value SegfaultForTest(const Napi::CallbackInfo& info) {
  volatile int* p = reinterpret_cast<volatile int*>(static_cast<uintptr_t>(IntArg(info, 0, "address")));
  *p = 42;
  return info.Env().Undefined();
}

}  // namespace

void RegisterProgramAccesses(Napi::Env env, Napi::Object exports) {
  exports.Set("nativeFill", Napi::Function::New(env, NativeFill));
  exports.Set("nativeSum", Napi::Function::New(env, NativeSum));
  exports.Set("threadTouch", Napi::Function::New(env, ThreadTouch));
  exports.Set("forkChildWrites", Napi::Function::New(env, ForkChildWrites));
  exports.Set("segfaultForTest", Napi::Function::New(env, SegfaultForTest));
}

}  // namespace zc::test_addon
