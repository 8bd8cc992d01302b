// One resource collection kept live in the page: list + watch into a Map, and
// a version number bumped at most once per animation frame, so a burst of
// watch events (1,000 objects listed at once) costs one render, not 1,000.
import { useEffect, useRef, useState } from 'preact/hooks';
import { listWatch, type LinkState } from './api';

export interface Live<T> {
  items: Map<string, T>;
  version: number;
  link: LinkState;
  detail?: string;
}

export function useLive<T>(path: string, keyOf: (o: T) => string, opts: { enabled: boolean; listed?: boolean; onUnauthorized: () => void; onChange?: (o: T, type: string) => void; limit?: number }): Live<T> {
  const items = useRef(new Map<string, T>());
  const [version, setVersion] = useState(0);
  const [link, setLink] = useState<{ state: LinkState; detail?: string }>({ state: 'connecting' });
  const frame = useRef(0);
  const onChange = useRef(opts.onChange);
  onChange.current = opts.onChange;

  useEffect(() => {
    if (!opts.enabled) return;
    const abort = new AbortController();
    const bump = (): void => {
      if (frame.current) return;
      frame.current = requestAnimationFrame(() => {
        frame.current = 0;
        setVersion((v) => v + 1);
      });
    };
    void listWatch<T>(
      path,
      {
        reset(list) {
          items.current = new Map(list.map((o) => [keyOf(o), o]));
          for (const o of list) onChange.current?.(o, 'ADDED');
          bump();
        },
        event(e) {
          const k = keyOf(e.object);
          if (e.type === 'DELETED') items.current.delete(k);
          else {
            items.current.delete(k); // re-insert: newest last, for the event stream's order
            items.current.set(k, e.object);
            if (opts.limit && items.current.size > opts.limit) items.current.delete(items.current.keys().next().value!);
          }
          onChange.current?.(e.object, e.type);
          bump();
        },
        state(state, detail) {
          setLink({ state, ...(detail ? { detail } : {}) });
        },
        unauthorized: opts.onUnauthorized,
      },
      abort.signal,
      opts.listed ?? true,
    );
    return () => abort.abort();
  }, [path, opts.enabled]);

  return { items: items.current, version, link: link.state, ...(link.detail ? { detail: link.detail } : {}) };
}

/** A clock for ages and countdowns: re-renders once a second (local time only; nothing is fetched). */
export function useNow(periodMs = 1000): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), periodMs);
    return () => clearInterval(t);
  }, [periodMs]);
  return now;
}
