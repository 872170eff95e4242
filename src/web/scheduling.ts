// How the VMM loop gives the event loop a turn between run slices (so console
// input, pause and status requests get in) and how it idles while the guest
// is halted, waking early when something happens (input, disk I/O done).

/**
 * Resolves in a new task. A MessageChannel message, not setTimeout(0): browsers
 * clamp nested timeouts to 4 ms, which would cost a busy guest a fifth of its
 * time at 20 ms slices. Node has setImmediate, which is the same thing and does
 * not keep the process alive the way an open MessagePort does.
 */
export const yieldToEventLoop: () => Promise<void> =
  typeof setImmediate === 'function'
    ? () => new Promise<void>((resolve) => setImmediate(resolve))
    : (() => {
        const waiting: (() => void)[] = [];
        const channel = new MessageChannel();
        channel.port1.onmessage = () => waiting.shift()?.();
        return () =>
          new Promise<void>((resolve) => {
            waiting.push(resolve);
            channel.port2.postMessage(null);
          });
      })();

/** A sleep that wake() ends early (the guest got input or an I/O completed). */
export class Alarm {
  private wakeUp: (() => void) | undefined;
  private woken = false;

  /** Waits up to `ms`, or less if wake() is called (also if it was called since the last sleep). */
  sleep(ms: number): Promise<void> {
    if (this.woken || ms <= 0) {
      this.woken = false;
      return yieldToEventLoop();
    }
    return new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      const self = this;
      function done(): void {
        clearTimeout(timer);
        // A later sleep may have replaced this one (a new run loop after
        // resume): leave its wake-up alone.
        if (self.wakeUp === done) {
          self.wakeUp = undefined;
          self.woken = false;
        }
        resolve();
      }
      this.wakeUp = done;
    });
  }

  /** Ends the current sleep, or makes the next one return at once. */
  wake(): void {
    if (this.wakeUp) this.wakeUp();
    else this.woken = true;
  }
}
