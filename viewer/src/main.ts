import { cpuRenderingRequested } from './rendering-choice.ts';
import { h } from './dom.ts';
import { language, setLanguage, t } from './i18n.ts';
import { DASHBOARD_ROLES } from './indicator-figures.ts';
import { clearSession, currentSession } from './session.ts';
import { renderSignInCallback } from './sign-in-callback-page.ts';
import { renderSignIn } from './sign-in-page.ts';
import { renderWorklist } from './worklist-page.ts';

/**
 * Stable URLs: `/sign-in`, `/sign-in/callback` (back from the identity provider), `/` (worklist),
 * `/studies/{StudyInstanceUID}` (reading page), `/dashboard` (regional
 * indicators). The reading page and Cornerstone3D are loaded only when a study is opened, the dashboard and its
 * charts only when it is: the worklist stays light. An analyst has no worklist: `/` is their dashboard.
 */
const app = document.getElementById('app')!;

/** What the end-to-end tests and the bench read: whether the reading page is loaded and warmed up. */
const worklistProbe = { readingReady: false };
declare global {
  interface Window {
    astreinteWorklist?: typeof worklistProbe;
  }
}
window.astreinteWorklist = worklistProbe;
let leave: (() => void) | undefined;

function go(path: string): void {
  history.pushState(null, '', path);
  void route();
}

async function route(): Promise<void> {
  leave?.();
  leave = undefined;
  document.documentElement.lang = language();
  const path = location.pathname;
  if (path === '/sign-in/callback') {
    await renderSignInCallback(app, (next) => {
      history.replaceState(null, '', next);
      void route();
    });
    return;
  }
  const session = currentSession();
  if (path === '/sign-in' || !session) {
    if (path !== '/sign-in') history.replaceState(null, '', '/sign-in');
    app.replaceChildren();
    await renderSignIn(app, go);
    return;
  }
  const content = h('div', { class: 'content' });
  const study = /^\/studies\/([0-9.]+)\/?$/.exec(path)?.[1];
  const dashboard = !study && (/^\/dashboard\/?$/.test(path) || (path === '/' && session.role === 'analyst'));
  if (dashboard && path !== '/dashboard') history.replaceState(null, '', '/dashboard');
  app.replaceChildren(header(session.name, session.role, dashboard ? 'dashboard' : 'worklist'), content);
  if (dashboard) {
    const { renderDashboard } = await import('./dashboard-page.ts');
    leave = await renderDashboard(content, session.role);
  } else if (study) {
    const { renderReadingPage } = await import('./reading-page.ts');
    leave = await renderReadingPage(content, study, go);
  } else {
    if (path !== '/') history.replaceState(null, '', '/');
    leave = await renderWorklist(content, go);
    // Fetch and parse the reading page (Cornerstone3D, about 1 MB) while the reader looks at the list, not after
    // the click: as soon as the list is drawn and the browser idle. Only a head start: cut short (the tab goes to
    // another address meanwhile, and Firefox then fails the chunk's CSS preload), it is no error; opening a study
    // imports it again.
    // Then Cornerstone starts and draws a synthetic slice out of sight (reading-warm-up.ts), so that the click costs
    // only the study's own data.
    requestIdleCallback(
      () =>
        void import('./reading-page.ts')
          .then(({ warmUpReading }) => warmUpReading())
          .then(() => (worklistProbe.readingReady = true))
          .catch(() => undefined),
      { timeout: 300 },
    );
  }
}

function header(name: string, role: string, current: 'worklist' | 'dashboard'): HTMLElement {
  const link = (path: string, page: typeof current, label: string) =>
    h('a', { href: path, class: `nav-${page}`, 'aria-current': current === page ? 'page' : false, onclick: (e: Event) => (e.preventDefault(), go(path)) }, label);
  return h(
    'header',
    { class: 'app-header' },
    h('a', { href: '/', class: 'brand', onclick: (e: Event) => (e.preventDefault(), go('/')) }, t('appName')),
    DASHBOARD_ROLES.includes(role)
      ? h('nav', {}, role !== 'analyst' && link('/', 'worklist', t('worklist')), link('/dashboard', 'dashboard', t('dashboard')))
      : undefined,
    h('span', { class: 'who', 'data-role': role }, name),
    h(
      'button',
      {
        class: 'language',
        onclick: () => {
          setLanguage(language() === 'fr' ? 'en' : 'fr');
          void route();
        },
      },
      language() === 'fr' ? 'English' : 'Français',
    ),
    h(
      'button',
      {
        class: 'sign-out',
        onclick: () => {
          const signOutUrl = currentSession()?.signOutUrl;
          clearSession();
          // With an identity provider, its session ends too, else its next sign-in would be silent. Either way a
          // new document: the images decoded in this tab (Cornerstone's cache, the decode workers) go with the old.
          location.assign(signOutUrl ?? '/sign-in');
        },
      },
      t('signOut'),
    ),
  );
}

// Read `?rendering=cpu|webgl` on arrival: it is kept for the tab, whichever page was asked for first.
cpuRenderingRequested();
addEventListener('popstate', () => void route());
void route();
