import type { Dispatcher } from './dispatcher.js';

/**
 * Every interval, starts the workflows of deliveries that were recorded but never started (the API
 * crashed between its commit and the workflow start, or Temporal was down). Workflow ids make a start
 * of an already running delivery a no-op, so several workers may run this loop at once.
 */
export function startRecoveryLoop(dispatcher: Dispatcher, intervalSeconds: number, log = console.error) {
  const timer = setInterval(() => {
    dispatcher
      .startUnstarted(intervalSeconds)
      .then((n) => n > 0 && log(`recovery: started ${n} delivery workflow(s) that had not been started`))
      .catch((err) => log(`recovery: ${(err as Error).message}`));
  }, intervalSeconds * 1000);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
