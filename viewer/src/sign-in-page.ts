import { ApiError, apiJson } from './api.ts';
import { h } from './dom.ts';
import { t, type MessageKey } from './i18n.ts';
import { saveSession } from './session.ts';

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

export async function renderSignIn(root: HTMLElement, go: (path: string) => void): Promise<void> {
  const status = h('p', { class: 'status', role: 'status' });
  const page = h('main', { class: 'sign-in' }, h('h1', {}, t('signInTitle')), status);
  root.replaceChildren(page);
  let people: Person[];
  try {
    people = (await apiJson<{ people: Person[] }>('/api/sign-in/people')).people;
  } catch (error) {
    // With an identity provider configured the list does not exist (401/404): the provider signs people in.
    status.textContent = error instanceof ApiError && (error.status === 401 || error.status === 404) ? t('signInOidc') : `${t('signInFailed')} : ${(error as Error).message}`;
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
    status.textContent = `${t('signInFailed')} : ${(error as Error).message}`;
  }
}
