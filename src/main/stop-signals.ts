/**
 * SIGTERM and SIGINT for an entry point, handled from its first line: as PID 1 in a container, a
 * signal without a handler is ignored. Until `ready()` hands over what to stop, a stop has nothing to
 * finish and exits at once; after that the first signal calls it, and a second one exits at once.
 */
export function onStopSignals(): { ready(stop: () => void): void } {
  let stopNow: (() => void) | null = null;
  let stopping = false;
  const handle = () => {
    if (stopping || !stopNow) process.exit(stopping ? 1 : 0);
    stopping = true;
    stopNow();
  };
  process.on('SIGTERM', handle);
  process.on('SIGINT', handle);
  return {
    ready(stop) {
      stopNow = stop;
    },
  };
}
