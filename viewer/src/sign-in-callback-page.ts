import { h } from './dom.ts';
import { labelValue, t } from './i18n.ts';
import { completeOidcSignIn, OidcSignInError, takeCallbackParameters } from './oidc-sign-in.ts';
import { oidcFailureText } from './oidc-failure-text.ts';
import { saveSession } from './session.ts';
import { loadSignInConfig } from './sign-in-config.ts';

/**
 * `/sign-in/callback`: where the identity provider sends the browser back. The code and state leave the address
 * bar first, then the answer is checked and the code exchanged; the worklist opens, or the page says why not and
 * offers to start again.
 */
export async function renderSignInCallback(root: HTMLElement, replaceWith: (path: string) => void): Promise<void> {
  const parameters = takeCallbackParameters();
  const status = h('p', { class: 'status', role: 'status' }, t('signInCompleting'));
  const page = h('main', { class: 'sign-in' }, h('h1', {}, t('signInTitle')), status);
  root.replaceChildren(page);
  try {
    const config = await loadSignInConfig();
    if (config.kind !== 'oidc') throw new OidcSignInError('no-pending-sign-in');
    saveSession(await completeOidcSignIn(config, parameters));
    replaceWith('/');
  } catch (error) {
    status.textContent = error instanceof OidcSignInError ? oidcFailureText(error) : labelValue(t('signInFailed'), (error as Error).message);
    status.classList.add('error');
    page.append(h('p', {}, h('a', { href: '/sign-in', class: 'sign-in-again' }, t('signInAgain'))));
  }
}
