import { ApiError, apiJson } from './api.ts';
import { h } from './dom.ts';
import { labelValue, t, type MessageKey } from './i18n.ts';
import { OidcSignInError, startOidcSignIn, type OidcSignInConfig } from './oidc-sign-in.ts';
import { oidcFailureText } from './oidc-failure-text.ts';
import { saveSession } from './session.ts';
import { loadSignInConfig, type SignInConfig } from './sign-in-config.ts';

/** One person of the regional configuration one may sign in as (embedded default only). */
interface Person {
  id: string;
  role: 'reader' | 'expert' | 'coordinator' | 'sender' | 'analyst';
  name: string;
  detail: string;
}

const GROUPS: { role: Person['role']; title: MessageKey }[] = [
  { role: 'reader', title: 'readers' },
  { role: 'expert', title: 'experts' },
  { role: 'coordinator', title: 'coordinators' },
  { role: 'sender', title: 'senders' },
  { role: 'analyst', title: 'analysts' },
];

/**
 * `/sign-in`: with an identity provider, one button that leaves for it (the list of people is never offered, and
 * its routes do not exist on such a gateway); on the embedded default, the region's people to pick from.
 */
export async function renderSignIn(root: HTMLElement, go: (path: string) => void): Promise<void> {
  const status = h('p', { class: 'status', role: 'status' });
  const page = h('main', { class: 'sign-in' }, h('h1', {}, t('signInTitle')), status);
  root.replaceChildren(page);
  let config: SignInConfig;
  try {
    config = await loadSignInConfig();
  } catch (error) {
    status.textContent = labelValue(t('signInFailed'), (error as Error).message);
    return;
  }
  if (config.kind === 'oidc') renderProvider(page, status, config);
  else await renderPeople(page, status, go);
}

function renderProvider(page: HTMLElement, status: HTMLElement, config: OidcSignInConfig): void {
  status.textContent = t('signInOidc');
  const button = h(
    'button',
    {
      class: 'oidc-sign-in',
      onclick: () => {
        button.disabled = true;
        status.textContent = t('signInRedirecting');
        startOidcSignIn(config).catch((error: unknown) => {
          button.disabled = false;
          status.textContent = error instanceof OidcSignInError ? oidcFailureText(error) : labelValue(t('signInFailed'), (error as Error).message);
        });
      },
    },
    t('signInWithPsc'),
  );
  page.append(button);
}

async function renderPeople(page: HTMLElement, status: HTMLElement, go: (path: string) => void): Promise<void> {
  let people: Person[];
  try {
    people = (await apiJson<{ people: Person[] }>('/api/sign-in/people')).people;
  } catch (error) {
    status.textContent = labelValue(t('signInFailed'), error instanceof ApiError ? error.message : (error as Error).message);
    return;
  }
  status.textContent = t('signInChoose');
  for (const group of GROUPS) {
    const members = people.filter((p) => p.role === group.role);
    if (members.length === 0) continue;
    const list = h('ul', { class: 'people' });
    for (const person of members) {
      list.append(
        h(
          'li',
          {},
          h(
            'button',
            {
              class: 'person',
              'data-person': person.id,
              onclick: () => void signIn(person, status, go),
            },
            h('strong', {}, person.name),
            h('span', { class: 'detail' }, person.detail),
          ),
        ),
      );
    }
    page.append(h('section', {}, h('h2', {}, t(group.title)), list));
  }
}

async function signIn(person: Person, status: HTMLElement, go: (path: string) => void): Promise<void> {
  try {
    const session = await apiJson<{ token: string; role: string; user: string; name: string }>('/api/sign-in', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ id: person.id }),
    });
    saveSession(session);
    go('/');
  } catch (error) {
    status.textContent = labelValue(t('signInFailed'), (error as Error).message);
  }
}
