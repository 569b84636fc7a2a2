/**
 * Thrown when a queue is named that the module does not declare.
 * @publicApi
 */
export class UnknownQueueError extends Error {
  override readonly name = 'UnknownQueueError';

  constructor(
    readonly queue: string,
    declared: readonly string[],
  ) {
    super(
      `Queue "${queue}" is not declared; declared queues: ${declared.join(', ')}. ` +
        'Add it to InteractorsModule.forRoot({ queues: [...] }).',
    );
  }
}
