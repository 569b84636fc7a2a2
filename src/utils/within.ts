/**
 * Waits for `promise` at most `ms`: resolves to `true` when it settled in time, `false`
 * when the time ran out (the promise goes on; its rejection is swallowed). @internal
 */
export async function within(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((resolve) => (timer = setTimeout(resolve, ms, false)));
  try {
    return await Promise.race([
      promise.then(
        () => true,
        () => true,
      ),
      late,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Node fires a timeout longer than this after 1 ms. @internal */
export const MAX_TIMEOUT = 2_147_483_647;
