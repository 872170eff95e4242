// A 64 KiB BIOS-style image for the demo page: at the reset vector it jumps
// to code that prints a greeting to port 0xE9, counts down a busy loop so
// the core's speed can be seen, and halts. Hand-assembled real-mode code.
const GREETING = 'wkvm: the x86 core is running in WebAssembly.\r\n' +
  'The PC machine and the bundled Linux guest come next.\r\n';

export function demoProgram(): Uint8Array {
  const rom = new Uint8Array(0x10000);
  const code: number[] = [];
  // mov si, msg ; loop: mov al, cs:[si] ; test al,al ; jz done ; out 0xe9, al ; inc si ; jmp loop
  code.push(0xbe, 0x00, 0x80); // mov si, 0x8000
  code.push(0x2e, 0x8a, 0x04); // mov al, cs:[si]
  code.push(0x84, 0xc0); // test al, al
  code.push(0x74, 0x05); // jz +5
  code.push(0xe6, 0xe9); // out 0xe9, al
  code.push(0x46); // inc si
  code.push(0xeb, 0xf4); // jmp -12
  // Busy loop: 10 million iterations of dec/jnz (32-bit counter).
  code.push(0x66, 0xb9, 0x80, 0x96, 0x98, 0x00); // mov ecx, 10000000
  code.push(0x66, 0x49); // dec ecx
  code.push(0x75, 0xfc); // jnz -4
  code.push(0xf4); // hlt
  rom.set(code, 0);
  for (let i = 0; i < GREETING.length; i++) rom[0x8000 + i] = GREETING.charCodeAt(i);
  // Reset vector (F000:FFF0): jmp far F000:0000.
  rom.set([0xea, 0x00, 0x00, 0x00, 0xf0], 0xfff0);
  return rom;
}
