// softfloat's single and double operations behind one generic lane type:
// T = u32 is an f32 lane (its bits), T = u64 an f64 lane. The size test is
// resolved at compile time, so each instantiation calls one function.
import {
  f32Add, f32Mul, f32Div, f32Sqrt, f32Compare, f64Add, f64Mul, f64Div, f64Sqrt, f64Compare,
} from '../../fp/softfloat';

@inline export function fpAdd<T>(a: T, b: T, sub: bool): T {
  if (sizeof<T>() == 4) return <T>f32Add(<u32>a, <u32>b, sub);
  return <T>f64Add(<u64>a, <u64>b, sub);
}
@inline export function fpMul<T>(a: T, b: T): T {
  if (sizeof<T>() == 4) return <T>f32Mul(<u32>a, <u32>b);
  return <T>f64Mul(<u64>a, <u64>b);
}
@inline export function fpDiv<T>(a: T, b: T): T {
  if (sizeof<T>() == 4) return <T>f32Div(<u32>a, <u32>b);
  return <T>f64Div(<u64>a, <u64>b);
}
@inline export function fpSqrt<T>(a: T): T {
  if (sizeof<T>() == 4) return <T>f32Sqrt(<u32>a);
  return <T>f64Sqrt(<u64>a);
}
/** CMP_LESS / CMP_EQUAL / CMP_GREATER / CMP_UNORDERED; quiet: only SNaNs raise IE. */
@inline export function fpCompare<T>(a: T, b: T, quiet: bool): i32 {
  if (sizeof<T>() == 4) return f32Compare(<u32>a, <u32>b, quiet);
  return f64Compare(<u64>a, <u64>b, quiet);
}

/** A denormal (zero exponent, non-zero fraction) of the lane's format. */
@inline export function isDenormal<T>(a: T): bool {
  if (sizeof<T>() == 4) return (<u32>a & 0x7f800000) == 0 && (<u32>a & 0x7fffff) != 0;
  return (<u64>a & 0x7ff0000000000000) == 0 && (<u64>a & 0xfffffffffffff) != 0;
}

/** The sign bit of the lane's format alone. */
@inline export function signOf<T>(a: T): T {
  if (sizeof<T>() == 4) return <T>(<u32>a & 0x80000000);
  return <T>(<u64>a & 0x8000000000000000);
}
