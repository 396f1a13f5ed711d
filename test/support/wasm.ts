// A hand-assembled WebAssembly module for the chaining tests: one exported memory of one
// 64 KiB page and two functions, load(addr) -> i32.load8_u and store(addr, v) -> i32.store8.
// Out-of-bounds addresses trap through V8's signal-based bounds checks (its SIGSEGV trap
// handler, which the guard engine chains to).
const bytes = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,                   // magic, version 1
  0x01, 0x0b, 0x02, 0x60, 0x01, 0x7f, 0x01, 0x7f, 0x60, 0x02, 0x7f, 0x7f, 0x00,  // types: (i32)->i32, (i32,i32)->()
  0x03, 0x03, 0x02, 0x00, 0x01,                                     // functions: type 0, type 1
  0x05, 0x03, 0x01, 0x00, 0x01,                                     // memory: min 1 page
  0x07, 0x16, 0x03,                                                 // exports (3)
  0x03, 0x6d, 0x65, 0x6d, 0x02, 0x00,                               //   "mem" memory 0
  0x04, 0x6c, 0x6f, 0x61, 0x64, 0x00, 0x00,                         //   "load" func 0
  0x05, 0x73, 0x74, 0x6f, 0x72, 0x65, 0x00, 0x01,                   //   "store" func 1
  0x0a, 0x13, 0x02,                                                 // code (2 bodies)
  0x07, 0x00, 0x20, 0x00, 0x2d, 0x00, 0x00, 0x0b,                   //   local.get 0; i32.load8_u; end
  0x09, 0x00, 0x20, 0x00, 0x20, 0x01, 0x3a, 0x00, 0x00, 0x0b,       //   local.get 0; local.get 1; i32.store8; end
]);

export interface WasmBytes {
  mem: WebAssembly.Memory;
  load(addr: number): number;
  store(addr: number, v: number): void;
}

export function instantiateWasm(): WasmBytes {
  const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes));
  return instance.exports as unknown as WasmBytes;
}
