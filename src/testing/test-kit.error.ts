/**
 * Thrown by `InteractorsTestKit` when it is used the wrong way: not bound to a testing
 * module, a bad option or argument, a tick at an instant that is not due. The message
 * names what was wrong and the fix.
 * @publicApi
 */
export class InteractorsTestKitError extends Error {
  override readonly name = 'InteractorsTestKitError';
}
