import { useCallback, useEffect, useLayoutEffect, useRef, useState } from 'react';
import { errorText } from '../api.ts';

export interface Resource<T> {
  /** Undefined until the first answer arrives (or after the key changed). */
  data: T | undefined;
  /** The last failure as a sentence; the last good data stays shown beside it. */
  error: string | null;
  loading: boolean;
  /** Fetches again (after a change, or a live event). */
  reload: () => Promise<void>;
  /** Replaces the data with what a change returned, without a refetch. */
  setData: (data: T) => void;
}

interface State<T> {
  key: string;
  data: T | undefined;
  error: string | null;
}

/**
 * Data from the API for one page or panel: loads when `key` changes, reloads on demand, ignores answers
 * that arrive after a newer request (or after the component went away).
 */
export function useResource<T>(key: string, load: () => Promise<T>): Resource<T> {
  const loadRef = useRef(load);
  useLayoutEffect(() => {
    loadRef.current = load;
  });
  const [state, setState] = useState<State<T>>({ key, data: undefined, error: null });
  const generation = useRef(0);

  const reload = useCallback(async () => {
    const mine = ++generation.current;
    try {
      const data = await loadRef.current();
      if (mine === generation.current) setState({ key, data, error: null });
    } catch (failure) {
      if (mine === generation.current) setState((previous) => ({ key, data: previous.key === key ? previous.data : undefined, error: errorText(failure) }));
    }
  }, [key]);

  useEffect(() => {
    void reload();
    const requests = generation;
    // Answers to requests made before now are stale once the key changes or the component goes away.
    return () => {
      requests.current++;
    };
  }, [reload]);

  const current = state.key === key ? state : { key, data: undefined, error: null };
  const setData = useCallback((data: T) => setState({ key, data, error: null }), [key]);
  return { data: current.data, error: current.error, loading: current.data === undefined && current.error === null, reload, setData };
}
