#!/usr/bin/env python3
"""Boot the wkvm guest under qemu-system-i386 (TCG) and drive its serial shell.

Reference check for public/images/: boots bzImage + initramfs.cpio.gz, waits
for the prompt, runs a few commands, then `poweroff -f` and expects QEMU
(-no-reboot) to exit by itself. Prints a summary; the whole serial output is
written to --log.

  scripts/guest/qemu-boot-test.py                       # pentium3, 1 CPU
  scripts/guest/qemu-boot-test.py --cpu pentium3,fpu=off --smp 2 --log x.log
  scripts/guest/qemu-boot-test.py --cmd 'cat /proc/interrupts'

Exit status 0 when the prompt came, every command finished and QEMU exited
after poweroff.
"""
import argparse
import os
import re
import subprocess
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PROMPT = "wkvm:/# "
DEFAULT_APPEND = "console=ttyS0 earlyprintk=serial,ttyS0,115200 panic=-1"
DEFAULT_CMDS = ["uname -a; uname -m", "cat /proc/cpuinfo", "echo $((6*7))"]


class Serial:
    def __init__(self, proc, log):
        self.proc, self.log = proc, log
        self.buf = ""
        self.lock = threading.Condition()
        self.eof = False
        threading.Thread(target=self._reader, daemon=True).start()

    def _reader(self):
        fd = self.proc.stdout.fileno()
        while True:
            data = os.read(fd, 4096)
            if not data:
                break
            text = data.decode("utf-8", "replace")
            self.log.write(text)
            self.log.flush()
            with self.lock:
                self.buf += text
                self.lock.notify_all()
        with self.lock:
            self.eof = True
            self.lock.notify_all()

    def wait_for(self, needle, start, timeout):
        """Index just past the first `needle` at or after `start`, or None."""
        end = time.monotonic() + timeout
        with self.lock:
            while True:
                i = self.buf.find(needle, start)
                if i >= 0:
                    return i + len(needle)
                left = end - time.monotonic()
                if left <= 0 or self.eof:
                    return None
                self.lock.wait(left)

    def send(self, text):
        self.proc.stdin.write(text.encode())
        self.proc.stdin.flush()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kernel", default=os.path.join(ROOT, "public/images/bzImage"))
    ap.add_argument("--initrd", default=os.path.join(ROOT, "public/images/initramfs.cpio.gz"))
    ap.add_argument("--append", default=DEFAULT_APPEND)
    ap.add_argument("--cpu", default="pentium3")
    ap.add_argument("--smp", type=int, default=1)
    ap.add_argument("--mem", default="64")
    ap.add_argument("--qemu", default="qemu-system-i386")
    ap.add_argument("--extra", default="", help="extra QEMU arguments (split on spaces)")
    ap.add_argument("--cmd", action="append", help="command to run (repeatable); default: uname, cpuinfo, arithmetic")
    ap.add_argument("--log", default=os.path.join(ROOT, "build/guest/qemu-boot.log"))
    ap.add_argument("--poweroff", default="poweroff -f", help="command that ends the run (default: %(default)s)")
    ap.add_argument("--ctrl-c", action="store_true", help="also check that ^C interrupts a foreground job")
    ap.add_argument("--timeout", type=float, default=300, help="seconds to wait for the prompt")
    args = ap.parse_args()

    argv = [args.qemu, "-cpu", args.cpu, "-m", args.mem, "-smp", str(args.smp),
            "-nographic", "-no-reboot", "-kernel", args.kernel, "-initrd", args.initrd,
            "-append", args.append] + args.extra.split()
    os.makedirs(os.path.dirname(os.path.abspath(args.log)), exist_ok=True)
    log = open(args.log, "w", encoding="utf-8")
    log.write("# " + " ".join(repr(a) if " " in a else a for a in argv) + "\n")
    t0 = time.monotonic()
    proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    ser = Serial(proc, log)
    ok = True
    results = []

    pos = ser.wait_for(PROMPT, 0, args.timeout)
    t_prompt = time.monotonic() - t0
    if pos is None:
        print(f"FAIL: no prompt {PROMPT!r} within {args.timeout:.0f} s")
        ok = False
    else:
        print(f"prompt {PROMPT!r} after {t_prompt:.2f} s (wall clock, QEMU start to prompt)")
        boot = ser.buf[:pos]
        stamps = re.findall(r"^\[\s*(\d+\.\d+)\]", boot, re.M)
        if stamps:
            print(f"last kernel timestamp before the prompt: {stamps[-1]} s")
        for cmd in args.cmd or DEFAULT_CMDS:
            start = len(ser.buf)
            ser.send(cmd + "\n")
            end = ser.wait_for(PROMPT, start, 120)
            if end is None:
                print(f"FAIL: {cmd!r} did not return to the prompt")
                ok = False
                break
            out = ser.buf[start:end - len(PROMPT)].replace("\x1b[6n", "")
            results.append((cmd, out))
        if ok and args.ctrl_c:
            # job control: ^C must reach a foreground job and give the prompt back
            start = len(ser.buf)
            ser.send("sleep 60; echo sleep-not-$((6*7))\n")
            time.sleep(3)
            ser.send("\x03")
            end = ser.wait_for(PROMPT, start, 20)
            out = ser.buf[start:end] if end else ser.buf[start:]
            if end is None or "sleep-not-42" in out:
                print("FAIL: ^C did not interrupt a foreground sleep")
                ok = False
            else:
                print("^C interrupted a foreground job and the prompt came back")
        start = len(ser.buf)
        ser.send(args.poweroff + "\n")
    try:
        rc = proc.wait(timeout=60)
        print(f"QEMU exited with status {rc} {time.monotonic() - t0:.2f} s after start")
    except subprocess.TimeoutExpired:
        print(f"FAIL: QEMU still running 60 s after {args.poweroff!r}; killing it")
        proc.kill()
        proc.wait()
        ok = False
    time.sleep(0.2)
    log.close()
    for cmd, out in results:
        print(f"--- $ {cmd}")
        print(out.replace("\r", "").strip("\n"))
    print(f"full serial log: {args.log}")
    print("RESULT: " + ("ok" if ok else "FAILED"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
