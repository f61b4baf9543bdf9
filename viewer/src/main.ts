import { cpuRenderingRequested } from './rendering-choice.ts';
import { h } from './dom.ts';
import { language, setLanguage, t } from './i18n.ts';
import { clearSession, currentSession } from './session.ts';
import { renderSignIn } from './sign-in-page.ts';
import { renderWorklist } from './worklist-page.ts';

/**
 * Stable URLs: `/sign-in`, `/` (worklist), `/studies/{StudyInstanceUID}` (reading page). The reading page and
 * Cornerstone3D are loaded only when a study is opened: the worklist stays light.
 */
const app = document.getElementById('app')!;
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
  const session = currentSession();
  if (path === '/sign-in' || !session) {
    if (path !== '/sign-in') history.replaceState(null, '', '/sign-in');
    app.replaceChildren();
    await renderSignIn(app, go);
    return;
  }
  const content = h('div', { class: 'content' });
  app.replaceChildren(header(session.name, session.role), content);
  const study = /^\/studies\/([0-9.]+)\/?$/.exec(path)?.[1];
  if (study) {
    const { renderReadingPage } = await import('./reading-page.ts');
    leave = await renderReadingPage(content, study, go);
  } else {
    if (path !== '/') history.replaceState(null, '', '/');
    leave = await renderWorklist(content, go);
    // Fetch and parse the reading page (Cornerstone3D, about 1 MB) while the reader looks at the list, not after
    // the click: as soon as the list is drawn and the browser idle.
    requestIdleCallback(() => void import('./reading-page.ts'), { timeout: 300 });
  }
}

function header(name: string, role: string): HTMLElement {
  return h(
    'header',
    { class: 'app-header' },
    h('a', { href: '/', class: 'brand', onclick: (e: Event) => (e.preventDefault(), go('/')) }, t('appName')),
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
          clearSession();
          go('/sign-in');
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
