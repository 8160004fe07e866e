import { useState } from 'react';
import { errorText } from '../api.ts';

/**
 * State for a button or form that calls the API: `busy` while it runs, `error` as a sentence when it failed.
 * `run` resolves to whether the action succeeded.
 */
export function useAction() {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const run = async (action: () => Promise<void>, describe: (failure: unknown) => string = errorText): Promise<boolean> => {
    setBusy(true);
    setError(null);
    try {
      await action();
      return true;
    } catch (failure) {
      setError(describe(failure));
      return false;
    } finally {
      setBusy(false);
    }
  };
  return { busy, error, setError, run };
}
