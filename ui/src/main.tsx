// The berth status page: instances, pool bars, claims, events and controller
// health, live from the API's list + watch.
import { render } from 'preact';
import { useCallback, useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { API, getToken, listWatch, setToken, type LinkState } from './api';
import { useLive, useNow } from './collection';
import { Claims } from './components/claims';
import { Events } from './components/events';
import { Health } from './components/health';
import { Instances, recordUsage, type UsageSample } from './components/instances';
import { Login } from './components/login';
import { Pools } from './components/pools';
import type { ApiEvent, Claim, Instance, Overview, Pool } from './types';
import { keyOf } from './types';
import './styles.css';

type Theme = 'light' | 'dark';
const systemTheme = (): Theme => (matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light');

function useTheme(): [Theme, () => void] {
  const [theme, setTheme] = useState<Theme>((localStorage.getItem('berth-theme') as Theme | null) ?? systemTheme());
  useEffect(() => {
    document.documentElement.dataset['theme'] = theme;
  }, [theme]);
  return [
    theme,
    () => {
      const next = theme === 'dark' ? 'light' : 'dark';
      localStorage.setItem('berth-theme', next);
      setTheme(next);
    },
  ];
}

function useOverview(enabled: boolean, onUnauthorized: () => void): Overview | undefined {
  const [o, setO] = useState<Overview | undefined>();
  useEffect(() => {
    if (!enabled) return;
    const abort = new AbortController();
    void listWatch<Overview>('/ui/overview', { reset: () => undefined, event: (e) => setO(e.object), state: () => undefined, unauthorized: onUnauthorized }, abort.signal, false);
    return () => abort.abort();
  }, [enabled]);
  return o;
}

function Dashboard(props: { onUnauthorized: () => void; theme: Theme; toggleTheme: () => void; signOut?: () => void }) {
  const now = useNow();
  const history = useRef(new Map<string, UsageSample[]>());
  const opts = { enabled: true, onUnauthorized: props.onUnauthorized };
  const instances = useLive<Instance>(`${API}/instances`, (o) => keyOf(o.metadata), { ...opts, onChange: (o) => recordUsage(history.current, o) });
  const pools = useLive<Pool>(`${API}/instancepools`, (o) => keyOf(o.metadata), opts);
  const claims = useLive<Claim>(`${API}/instanceclaims`, (o) => keyOf(o.metadata), opts);
  const events = useLive<ApiEvent>(`${API}/events`, (o) => `${o.metadata.namespace}/${o.metadata.name}`, { ...opts, limit: 1000 });
  const overview = useOverview(true, props.onUnauthorized);
  const [eventFilter, setEventFilter] = useState('');

  const instanceList = useMemo(() => [...instances.items.values()], [instances.version]);
  const poolList = useMemo(() => [...pools.items.values()].sort((a, b) => keyOf(a.metadata).localeCompare(keyOf(b.metadata))), [pools.version]);
  const claimList = useMemo(() => [...claims.items.values()], [claims.version]);
  const eventList = useMemo(() => [...events.items.values()], [events.version]);
  const links: LinkState[] = [instances.link, pools.link, claims.link, events.link];
  const link: LinkState = links.every((l) => l === 'live') ? 'live' : links.includes('reconnecting') ? 'reconnecting' : 'connecting';
  const detail = [instances, pools, claims, events].find((c) => c.detail)?.detail;
  const ready = instanceList.filter((i) => i.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')).length;

  return (
    <main>
      <header class="top">
        <h1>berth</h1>
        <Health overview={overview} link={link} {...(detail ? { detail } : {})} />
        <span class="spacer" />
        <button class="link" onClick={props.toggleTheme} data-testid="theme" aria-label="toggle dark mode">
          {props.theme === 'dark' ? '☀ light' : '☾ dark'}
        </button>
        {props.signOut ? (
          <button class="link" onClick={props.signOut}>
            sign out
          </button>
        ) : null}
      </header>
      <div class="grid">
        <section class="col-pools">
          <h2>
            Pools <span class="muted small">{poolList.length}</span>
          </h2>
          <Pools pools={poolList} claims={claimList} overview={overview} now={now} />
          <h2>
            Claims <span class="muted small">{claimList.length}</span>
          </h2>
          <Claims claims={claimList} now={now} />
        </section>
        <section class="col-instances">
          <h2>
            Instances <span class="muted small" data-testid="instance-count">{ready} ready of {instanceList.length}</span>
          </h2>
          <Instances instances={instanceList} history={history.current} now={now} onFilterEvents={setEventFilter} />
        </section>
        <section class="col-events">
          <h2>
            Events <span class="muted small">{eventList.length}</span>
          </h2>
          <Events events={eventList} filter={eventFilter} onFilter={setEventFilter} />
        </section>
      </div>
    </main>
  );
}

function App() {
  const [theme, toggleTheme] = useTheme();
  const [auth, setAuth] = useState<{ state: 'ok' } | { state: 'login'; message: string }>({ state: 'ok' });
  const [generation, setGeneration] = useState(0);
  const onUnauthorized = useCallback(() => {
    setAuth({ state: 'login', message: getToken() ? 'The token was not accepted.' : 'This controller asks for a bearer token.' });
  }, []);
  if (auth.state === 'login') {
    return (
      <main>
        <Login
          message={auth.message}
          onToken={(t) => {
            setToken(t);
            setGeneration((g) => g + 1);
            setAuth({ state: 'ok' });
          }}
        />
      </main>
    );
  }
  return (
    <Dashboard
      key={generation}
      onUnauthorized={onUnauthorized}
      theme={theme}
      toggleTheme={toggleTheme}
      {...(getToken()
        ? {
            signOut: () => {
              setToken(undefined);
              setGeneration((g) => g + 1);
            },
          }
        : {})}
    />
  );
}

render(<App />, document.getElementById('app')!);
