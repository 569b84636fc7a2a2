/** Child processes of the bench: the child's side of the IPC channel. */
import type { Message } from '../bench-child.js';

// A child whose bench is gone (it crashed, or was interrupted) stops too.
process.once('disconnect', () => process.exit(1));

/** In a child: its config, and messages to and from the bench. */
export const parent = {
  config<T>(): T {
    return JSON.parse(process.env.BENCH_CHILD ?? '{}') as T;
  },
  send<T extends Message>(message: T): Promise<void> {
    return new Promise((resolve, reject) =>
      process.send!(message, undefined, {}, (error) => (error ? reject(error) : resolve())),
    );
  },
  receive<T extends Message>(type: string): Promise<T> {
    return new Promise((resolve) => {
      const listener = (message: Message) => {
        if (message.type !== type) return;
        process.off('message', listener);
        resolve(message as T);
      };
      process.on('message', listener);
    });
  },
};
