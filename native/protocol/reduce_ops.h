// Element types and reduction operators of the collectives, computed natively.
//
// reduce_into(op, type, dst, src, n) computes dst[i] = dst[i] op src[i] for n elements (and
// reduce_from dst[i] = a[i] op b[i], a collective's first reduction, without a copy first). The
// loops are plain element-wise loops the compiler vectorises; each (op, type) kernel is built
// twice (generic x86-64 SSE2 and AVX2) and the loader picks one for the CPU (target_clones),
// so the addon still runs on any x86-64 while using 256-bit vectors where they exist.
// Integer sum and product wrap (two's complement, as JavaScript's typed-array stores do);
// float min/max return the second operand when either is NaN only if it is smaller (C's `<`).
#pragma once

#include <cstddef>
#include <cstdint>

namespace zc::protocol {

// Values shared with runtime/ops.ts (DTYPE_CODES / OP_CODES).
enum class DType : uint8_t { I8 = 0, U8 = 1, I16 = 2, U16 = 3, I32 = 4, U32 = 5, F32 = 6, F64 = 7, I64 = 8, U64 = 9 };
enum class ReduceOp : uint8_t {
  Sum = 0, Prod = 1, Min = 2, Max = 3, Band = 4, Bor = 5, Bxor = 6, Land = 7, Lor = 8, Lxor = 9,
  None = 254,  // a collective that does not reduce
  Js = 255,    // a JavaScript function (the runtime folds gathered data itself)
};
constexpr int kDTypeCount = 10;
constexpr int kOpCount = 10;

size_t dtype_size(DType t);
const char* dtype_name(DType t);
const char* op_name(ReduceOp op);
bool is_float(DType t);
// Bitwise operators are refused on floating-point types; everything else is defined.
bool op_defined(ReduceOp op, DType t);

// dst[i] = dst[i] op src[i], i < n. dst and src do not overlap. op must be defined on t.
void reduce_into(ReduceOp op, DType t, void* dst, const void* src, size_t n);

// dst[i] = a[i] op b[i], i < n; none of the three overlap. op must be defined on t.
void reduce_from(ReduceOp op, DType t, void* dst, const void* a, const void* b, size_t n);

}  // namespace zc::protocol
