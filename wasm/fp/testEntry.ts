// Entry of the stand-alone module test/cpu/softfloat.test.ts builds
// (build/softfloat-test.wasm): the library's API and nothing else.
export * from './softfloat';
