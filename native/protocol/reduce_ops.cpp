#include "protocol/reduce_ops.h"

#include <type_traits>

namespace zc::protocol {

namespace {

// Integers are combined in a wide unsigned type: sum and product wrap instead of being
// undefined behaviour (signed overflow) or promoted to int (uint16 * uint16 overflows int).
template <typename T>
using Wide = std::conditional_t<std::is_floating_point_v<T>, T, std::conditional_t<(sizeof(T) <= 4), uint32_t, uint64_t>>;

template <typename T, ReduceOp OP>
__attribute__((always_inline)) inline T combine(T a, T b) {
  using W = Wide<T>;
  if constexpr (OP == ReduceOp::Sum) return T(W(a) + W(b));
  else if constexpr (OP == ReduceOp::Prod) return T(W(a) * W(b));
  else if constexpr (OP == ReduceOp::Min) return b < a ? b : a;
  else if constexpr (OP == ReduceOp::Max) return b > a ? b : a;
  else if constexpr (OP == ReduceOp::Land) return T((a != T(0)) & (b != T(0)));
  else if constexpr (OP == ReduceOp::Lor) return T((a != T(0)) | (b != T(0)));
  else if constexpr (OP == ReduceOp::Lxor) return T((a != T(0)) ^ (b != T(0)));
  else if constexpr (std::is_floating_point_v<T>) return a;  // bitwise: refused before this
  else if constexpr (OP == ReduceOp::Band) return T(a & b);
  else if constexpr (OP == ReduceOp::Bor) return T(a | b);
  else return T(a ^ b);
}

template <typename T, ReduceOp OP>
__attribute__((always_inline)) inline void body(void* dst, const void* src, size_t n) {
  T* __restrict d = static_cast<T*>(dst);
  const T* __restrict s = static_cast<const T*>(src);
  for (size_t i = 0; i < n; i++) d[i] = combine<T, OP>(d[i], s[i]);
}

// dst[i] = a[i] op b[i]: the first reduction of a collective, which would otherwise copy
// its input into the result first (one pass over memory instead of two).
template <typename T, ReduceOp OP>
__attribute__((always_inline)) inline void body3(void* dst, const void* a, const void* b, size_t n) {
  T* __restrict d = static_cast<T*>(dst);
  const T* __restrict x = static_cast<const T*>(a);
  const T* __restrict y = static_cast<const T*>(b);
  for (size_t i = 0; i < n; i++) d[i] = combine<T, OP>(x[i], y[i]);
}

using Kernel = void (*)(void*, const void*, size_t);
using Kernel3 = void (*)(void*, const void*, const void*, size_t);

// One out-of-line function per (type, op), cloned for AVX2 and generic x86-64.
#if defined(__x86_64__) && !defined(__SANITIZE_ADDRESS__)
#define ZC_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define ZC_CLONES
#endif

#define ZC_KERNELS_FOR(T, N)                                                                       \
  ZC_CLONES void k_sum_##N(void* d, const void* s, size_t n) { body<T, ReduceOp::Sum>(d, s, n); }   \
  ZC_CLONES void k_prod_##N(void* d, const void* s, size_t n) { body<T, ReduceOp::Prod>(d, s, n); } \
  ZC_CLONES void k_min_##N(void* d, const void* s, size_t n) { body<T, ReduceOp::Min>(d, s, n); }   \
  ZC_CLONES void k_max_##N(void* d, const void* s, size_t n) { body<T, ReduceOp::Max>(d, s, n); }   \
  ZC_CLONES void k_band_##N(void* d, const void* s, size_t n) { body<T, ReduceOp::Band>(d, s, n); } \
  ZC_CLONES void k_bor_##N(void* d, const void* s, size_t n) { body<T, ReduceOp::Bor>(d, s, n); }   \
  ZC_CLONES void k_bxor_##N(void* d, const void* s, size_t n) { body<T, ReduceOp::Bxor>(d, s, n); } \
  ZC_CLONES void k_land_##N(void* d, const void* s, size_t n) { body<T, ReduceOp::Land>(d, s, n); } \
  ZC_CLONES void k_lor_##N(void* d, const void* s, size_t n) { body<T, ReduceOp::Lor>(d, s, n); }   \
  ZC_CLONES void k_lxor_##N(void* d, const void* s, size_t n) { body<T, ReduceOp::Lxor>(d, s, n); }

#define ZC_K3(OPN, OPE, T, N) \
  ZC_CLONES void k3_##OPN##_##N(void* d, const void* a, const void* b, size_t n) { body3<T, ReduceOp::OPE>(d, a, b, n); }
#define ZC_KERNELS3_FOR(T, N)                                                                    \
  ZC_K3(sum, Sum, T, N) ZC_K3(prod, Prod, T, N) ZC_K3(min, Min, T, N) ZC_K3(max, Max, T, N)        \
  ZC_K3(band, Band, T, N) ZC_K3(bor, Bor, T, N) ZC_K3(bxor, Bxor, T, N) ZC_K3(land, Land, T, N)    \
  ZC_K3(lor, Lor, T, N) ZC_K3(lxor, Lxor, T, N)

ZC_KERNELS3_FOR(int8_t, i8)
ZC_KERNELS3_FOR(uint8_t, u8)
ZC_KERNELS3_FOR(int16_t, i16)
ZC_KERNELS3_FOR(uint16_t, u16)
ZC_KERNELS3_FOR(int32_t, i32)
ZC_KERNELS3_FOR(uint32_t, u32)
ZC_KERNELS3_FOR(float, f32)
ZC_KERNELS3_FOR(double, f64)
ZC_KERNELS3_FOR(int64_t, i64)
ZC_KERNELS3_FOR(uint64_t, u64)

ZC_KERNELS_FOR(int8_t, i8)
ZC_KERNELS_FOR(uint8_t, u8)
ZC_KERNELS_FOR(int16_t, i16)
ZC_KERNELS_FOR(uint16_t, u16)
ZC_KERNELS_FOR(int32_t, i32)
ZC_KERNELS_FOR(uint32_t, u32)
ZC_KERNELS_FOR(float, f32)
ZC_KERNELS_FOR(double, f64)
ZC_KERNELS_FOR(int64_t, i64)
ZC_KERNELS_FOR(uint64_t, u64)

#define ZC_ROW(N) {k_sum_##N, k_prod_##N, k_min_##N, k_max_##N, k_band_##N, k_bor_##N, k_bxor_##N, k_land_##N, k_lor_##N, k_lxor_##N}

const Kernel kKernels[kDTypeCount][kOpCount] = {
    ZC_ROW(i8), ZC_ROW(u8), ZC_ROW(i16), ZC_ROW(u16), ZC_ROW(i32),
    ZC_ROW(u32), ZC_ROW(f32), ZC_ROW(f64), ZC_ROW(i64), ZC_ROW(u64),
};

#define ZC_ROW3(N) {k3_sum_##N, k3_prod_##N, k3_min_##N, k3_max_##N, k3_band_##N, k3_bor_##N, k3_bxor_##N, k3_land_##N, k3_lor_##N, k3_lxor_##N}

const Kernel3 kKernels3[kDTypeCount][kOpCount] = {
    ZC_ROW3(i8), ZC_ROW3(u8), ZC_ROW3(i16), ZC_ROW3(u16), ZC_ROW3(i32),
    ZC_ROW3(u32), ZC_ROW3(f32), ZC_ROW3(f64), ZC_ROW3(i64), ZC_ROW3(u64),
};

}  // namespace

size_t dtype_size(DType t) {
  static const size_t sizes[kDTypeCount] = {1, 1, 2, 2, 4, 4, 4, 8, 8, 8};
  return unsigned(t) < kDTypeCount ? sizes[unsigned(t)] : 0;
}

const char* dtype_name(DType t) {
  static const char* names[kDTypeCount] = {"int8", "uint8", "int16", "uint16", "int32",
                                           "uint32", "float32", "float64", "bigint64", "biguint64"};
  return unsigned(t) < kDTypeCount ? names[unsigned(t)] : "unknown";
}

const char* op_name(ReduceOp op) {
  static const char* names[kOpCount] = {"sum", "prod", "min", "max", "band", "bor", "bxor", "land", "lor", "lxor"};
  if (op == ReduceOp::None) return "none";
  if (op == ReduceOp::Js) return "a JavaScript function";
  return unsigned(op) < kOpCount ? names[unsigned(op)] : "unknown";
}

bool is_float(DType t) { return t == DType::F32 || t == DType::F64; }

bool op_defined(ReduceOp op, DType t) {
  if (unsigned(op) >= kOpCount || unsigned(t) >= kDTypeCount) return false;
  const bool bitwise = op == ReduceOp::Band || op == ReduceOp::Bor || op == ReduceOp::Bxor;
  return !(bitwise && is_float(t));
}

void reduce_into(ReduceOp op, DType t, void* dst, const void* src, size_t n) {
  if (n == 0 || !op_defined(op, t)) return;
  kKernels[unsigned(t)][unsigned(op)](dst, src, n);
}

void reduce_from(ReduceOp op, DType t, void* dst, const void* a, const void* b, size_t n) {
  if (n == 0 || !op_defined(op, t)) return;
  kKernels3[unsigned(t)][unsigned(op)](dst, a, b, n);
}

}  // namespace zc::protocol
