import type { JSX } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { getSession, logout, onAuthLost, type Session } from './api.js';
import { ErrorBox } from './components.js';
import { parseRoute } from './format.js';
import { startLive, stopLive, useLiveState } from './live.js';
import { Link, navigate, useLocation } from './router.js';
import { AgentsPage, AgentPage } from './pages/agents.js';
import { BoardPage } from './pages/board.js';
import { CostPage } from './pages/cost.js';
import { DiscordPage } from './pages/discord.js';
import { LoginPage } from './pages/login.js';
import { OverviewPage } from './pages/overview.js';
import { RunPage } from './pages/run.js';
import { TaskPage } from './pages/task.js';
import { TasksPage } from './pages/tasks.js';
import { WorkflowPage, WorkflowsPage } from './pages/workflows.js';
import { WorktreesPage } from './pages/worktrees.js';

const NAV: Array<[string, string]> = [
  ['overview', 'Overview'],
  ['tasks', 'Tasks'],
  ['agents', 'Agents'],
  ['workflows', 'Workflows'],
  ['board', 'Board'],
  ['worktrees', 'Worktrees'],
  ['discord', 'Discord'],
  ['cost', 'Cost'],
];

export function App(): JSX.Element {
  const [session, setSession] = useState<Session | undefined>(undefined);
  const [error, setError] = useState<unknown>(undefined);
  const check = () =>
    getSession().then(
      (s) => {
        setSession(s);
        setError(undefined);
      },
      (e) => setError(e),
    );
  useEffect(() => {
    onAuthLost(() => {
      stopLive();
      void check();
    });
    void check();
  }, []);
  const authed = session !== undefined && (!session.loginRequired || session.authenticated);
  useEffect(() => {
    if (!authed) return;
    startLive(() => void check());
    return () => stopLive();
  }, [authed]);
  if (error) {
    return (
      <main class="page narrow">
        <h1>Tetora</h1>
        <ErrorBox error={error} title="The dashboard cannot reach the daemon" />
        <p>Check that `tetora serve` runs, then reload this page.</p>
      </main>
    );
  }
  if (!session) return <main class="page narrow"><p class="muted">Connecting to the daemon…</p></main>;
  if (!authed) return <LoginPage onLoggedIn={() => void check()} />;
  return <Shell session={session} onLogout={() => void logout().then(check, check)} />;
}

function LiveDot(): JSX.Element {
  const s = useLiveState();
  const text = s === 'live' ? 'live' : s === 'reconnecting' ? 'reconnecting…' : s === 'connecting' ? 'connecting…' : s;
  return (
    <span class={`live live-${s}`} title={`event stream: ${text}`} aria-live="polite">
      <span class="dot" aria-hidden="true" />
      {text}
    </span>
  );
}

function Shell({ session, onLogout }: { session: Session; onLogout: () => void }): JSX.Element {
  const loc = useLocation();
  const route = parseRoute(loc.path);
  useEffect(() => {
    if (route.page === 'login') navigate('/dashboard', { replace: true });
  }, [route.page]);
  const section = route.page === 'runs' ? 'workflows' : route.page;
  // On a phone the section links scroll sideways: keep the current one in view.
  useEffect(() => {
    document.querySelector('.top nav [aria-current="page"]')?.scrollIntoView({ block: 'nearest', inline: 'nearest' });
  }, [section]);
  return (
    <>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <Link href="/dashboard" class="brand" aria-label="Tetora overview">
          Tetora
        </Link>
        <nav aria-label="Sections">
          <ul>
            {NAV.map(([page, label]) => (
              <li key={page}>
                <Link href={page === 'overview' ? '/dashboard' : `/dashboard/${page}`} aria-current={section === page ? 'page' : undefined}>
                  {label}
                </Link>
              </li>
            ))}
          </ul>
        </nav>
        <div class="top-right">
          <LiveDot />
          {session.loginRequired ? (
            <button type="button" class="btn plain small" onClick={onLogout}>
              Log out
            </button>
          ) : null}
        </div>
      </header>
      <main id="main" class="page" tabIndex={-1}>
        <Page route={route} search={loc.search} />
      </main>
      <footer class="foot muted">Tetora {session.version}</footer>
    </>
  );
}

function Page({ route, search }: { route: ReturnType<typeof parseRoute>; search: URLSearchParams }): JSX.Element {
  switch (route.page) {
    case 'overview':
    case 'login':
      return <OverviewPage />;
    case 'tasks':
      return route.id ? <TaskPage id={route.id} /> : <TasksPage search={search} />;
    case 'agents':
      return route.id ? <AgentPage name={route.id} /> : <AgentsPage />;
    case 'workflows':
      return route.id ? <WorkflowPage name={route.id} /> : <WorkflowsPage />;
    case 'runs':
      return route.id ? <RunPage id={route.id} /> : <WorkflowsPage />;
    case 'board':
      return <BoardPage ticketId={route.id} />;
    case 'worktrees':
      return <WorktreesPage />;
    case 'discord':
      return <DiscordPage />;
    case 'cost':
      return <CostPage />;
    default:
      return (
        <div>
          <h1>Not found</h1>
          <p>
            No page <code>{route.page}</code>. <Link href="/dashboard">Go to the overview</Link>.
          </p>
        </div>
      );
  }
}
