import { render, type ComponentChildren } from 'preact';
import { useEffect } from 'preact/hooks';
import './styles.css';
import { useTitle } from './hooks';
import { DeadLetters } from './pages/dead-letters';
import { Deliveries, DeliveryDetail } from './pages/deliveries';
import { LiveTail } from './pages/live';
import { Overview } from './pages/overview';
import { Rooms } from './pages/rooms';
import { SignIn } from './pages/sign-in';
import { Webhooks } from './pages/webhooks';
import { Link, match, useRoute, type Route } from './router';
import { maskToken, signOut, useSession } from './session';

const NAV: Array<{ href: string; label: string }> = [
  { href: '/', label: 'Overview' },
  { href: '/webhooks', label: 'Webhooks' },
  { href: '/deliveries', label: 'Deliveries' },
  { href: '/dead-letters', label: 'Dead letters' },
  { href: '/rooms', label: 'Rooms' },
  { href: '/live', label: 'Live tail' },
];

function page(route: Route) {
  const p = route.path;
  const delivery = match('/deliveries/:id', p);
  if (delivery) return <DeliveryDetail key={delivery.id} id={delivery.id} />;
  switch (p) {
    case '/':
      return <Overview />;
    case '/webhooks':
      return <Webhooks />;
    case '/deliveries':
      return <Deliveries route={route} />;
    case '/dead-letters':
      return <DeadLetters />;
    case '/rooms':
      return <Rooms route={route} />;
    case '/live':
      return <LiveTail />;
    default:
      return <NotFound />;
  }
}

function NotFound() {
  useTitle('Not found');
  return (
    <>
      <h1 tabIndex={-1}>Not found</h1>
      <p>
        There is no console page here. <Link href="/">Go to the overview</Link>.
      </p>
    </>
  );
}

function Shell({ route, token, children }: { route: Route; token: string; children: ComponentChildren }) {
  const section = '/' + (route.path.split('/')[1] ?? '');
  // After a navigation, focus moves to the new page's heading, so screen readers announce it.
  useEffect(() => {
    document.querySelector<HTMLElement>('main h1')?.focus({ preventScroll: true });
  }, [route.path]);
  return (
    <div class="shell">
      <a class="skip" href="#main">
        Skip to content
      </a>
      <nav class="sidebar" aria-label="Console">
        <div class="brand">
          <span class="logo" aria-hidden="true" />
          hookwise
        </div>
        <ul>
          {NAV.map((n) => (
            <li key={n.href}>
              <Link href={n.href} aria-current={section === n.href ? 'page' : undefined}>
                {n.label}
              </Link>
            </li>
          ))}
        </ul>
        <div class="who">
          <span class="muted small">Signed in with</span>
          <span class="mono small">{maskToken(token)}</span>
          <button type="button" onClick={() => signOut()}>
            Sign out
          </button>
        </div>
      </nav>
      <main id="main" tabIndex={-1}>
        {children}
      </main>
    </div>
  );
}

function App() {
  const session = useSession();
  const route = useRoute();
  if (!session.token) return <SignIn reason={session.reason} />;
  return (
    <Shell route={route} token={session.token}>
      {page(route)}
    </Shell>
  );
}

render(<App />, document.getElementById('app')!);
