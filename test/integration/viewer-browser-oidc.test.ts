/**
 * The web app's sign-in at a real OpenID Connect provider (oidc-provider, its own process on a free port) in
 * Debian's Chromium: authorization code with PKCE, state and nonce, JWT access token for the gateway's audience
 * with Pro Santé Connect style claims, mapped by the gateway's OIDC_CLAIM_* settings to Dr Anne Roques (Ariège).
 * No token ever in a URL, the code never sent to the gateway, the callback cleaned, reload keeps the session,
 * sign-out clears it (and ends the provider's session); a tampered `state` is refused in plain French.
 */
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { screenshot, type PageGlobals } from '../support/browser.ts';
import { freePort } from '../support/free-port.ts';
import { startGateway, type GatewayProcess } from '../support/gateway-process.ts';
import { startOidcProvider, type TestProvider } from '../support/oidc-provider.ts';

const AUDIENCE = 'astreinte-pacs';
const CLIENT_ID = 'astreinte-web';
const RPPS = '10009000011';
const LOGIN = 'psc-anne-roques';

let gw: GatewayProcess;
let provider: TestProvider;
let browser: Browser;

beforeAll(async () => {
  const providerPort = await freePort();
  const issuer = `http://127.0.0.1:${providerPort}`;
  gw = await startGateway({
    env: {
      OIDC_ISSUER: issuer,
      OIDC_JWKS_URL: `${issuer}/jwks`,
      OIDC_AUDIENCE: AUDIENCE,
      OIDC_CLIENT_ID: CLIENT_ID,
      OIDC_SCOPES: 'openid astreinte',
      OIDC_CLAIM_ROLES: 'realm_access.roles',
      OIDC_CLAIM_RPPS: 'SubjectNameID',
      OIDC_ROLE_MAP: 'radiologue=reader',
    },
  });
  provider = await startOidcProvider({
    port: providerPort,
    issuer,
    clientId: CLIENT_ID,
    gatewayOrigin: gw.url,
    resource: 'urn:astreinte:pacs',
    audience: AUDIENCE,
    resourceScope: 'astreinte',
    accounts: { [LOGIN]: { name: 'Anne Roques', rpps: RPPS, roles: ['radiologue'] } },
  });
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await provider?.stop();
  await gw?.dispose();
});

/**
 * Every URL the page asked for or was sent to: requests (any frame), frame navigations and redirects' Location
 * headers (a fragment is never in a request, only there).
 */
function recordUrls(page: Page): string[] {
  const urls: string[] = [];
  page.on('request', (request) => urls.push(request.url()));
  page.on('framenavigated', (frame) => urls.push(frame.url()));
  page.on('response', (response) => {
    const location = response.headers()['location'];
    if (location !== undefined) urls.push(new URL(location, response.url()).href);
  });
  return urls;
}

function locationOf(headers: Record<string, string>, base: string): string | undefined {
  const location = headers['location'];
  return location === undefined ? undefined : new URL(location, base).href;
}

async function sessionToken(page: Page): Promise<string | undefined> {
  const text = await page.evaluate(() => (globalThis as unknown as PageGlobals).sessionStorage.getItem('astreinte.session'));
  return text === null ? undefined : (JSON.parse(text) as { token: string }).token;
}

/** From the gateway's sign-in page to the provider, through its login and consent pages, until it redirects back. */
async function signInAtProvider(page: Page): Promise<void> {
  await page.goto(`${gw.url}/`);
  await page.waitForURL(`${gw.url}/sign-in`);
  const button = page.locator('button.oidc-sign-in');
  await button.waitFor({ timeout: 10_000 });
  expect(await button.textContent()).toBe('Se connecter avec Pro Santé Connect');
  expect(await page.locator('button.person').count(), 'the embedded list of people is never offered').toBe(0);
  await screenshot(page, 'oidc-00-sign-in');
  await button.click();
  await page.waitForURL((url) => url.origin === provider.issuer);
  await page.locator('input[name="login"]').fill(LOGIN);
  await page.locator('input[name="password"]').fill('any password');
  await page.locator('button[type="submit"]').click();
  // The development consent page: grant the client openid and the gateway's scope.
  await page.locator('button[type="submit"]', { hasText: 'Continue' }).click({ timeout: 15_000 });
}

describe('OpenID Connect sign-in in the web app (authorization code + PKCE)', () => {
  it('tells the web app the issuer and the public client; the embedded sign-in does not exist', async () => {
    const config = (await (await fetch(`${gw.url}/api/sign-in/config`)).json()) as Record<string, unknown>;
    expect(config).toEqual({
      kind: 'oidc',
      issuer: provider.issuer,
      clientId: CLIENT_ID,
      scopes: ['openid', 'astreinte'],
      redirectUri: `${gw.url}/sign-in/callback`,
      postLogoutRedirectUri: `${gw.url}/sign-in`,
    });
    expect((await fetch(`${gw.url}/api/sign-in/people`)).status).toBe(401);
    expect((await fetch(`${gw.url}/api/sign-in`, { method: 'POST' })).status).toBe(401);
    const page = await fetch(`${gw.url}/sign-in/callback`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toContain(`connect-src 'self' ${provider.issuer};`);
  });

  it('signs the reader in at the provider, keeps every token out of URLs, survives a reload and signs out', { timeout: 90_000 }, async () => {
    const context: BrowserContext = await browser.newContext();
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    const urls = recordUrls(page);
    try {
      await signInAtProvider(page);
      await page.waitForURL(`${gw.url}/`, { timeout: 15_000 });
      await expect.poll(() => page.locator('.who').textContent(), { timeout: 10_000 }).toBe('Dr Anne Roques');
      expect(await page.locator('.who').getAttribute('data-role')).toBe('reader');
      await page.locator('.live[data-live="true"]').waitFor({ timeout: 10_000 });
      await screenshot(page, 'oidc-01-worklist');

      // The provider sent the code back in the fragment: the gateway never received it; the address bar was cleaned.
      const callback = urls.find((u) => u.startsWith(`${gw.url}/sign-in/callback`));
      expect(callback, 'the provider redirected to the callback, the code in the fragment').toMatch(/^[^?#]*#(.*&)?code=[^&]+/);
      expect(callback).toMatch(/#(.*&)?state=[^&]+/);
      const toGateway = urls.filter((u) => u.startsWith(gw.url)).map((u) => u.split('#')[0]!);
      expect(toGateway.filter((u) => /[?&](code|state)=/.test(u))).toEqual([]);
      expect(page.url()).toBe(`${gw.url}/`);

      const token = await sessionToken(page);
      expect(token).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
      const claims = JSON.parse(Buffer.from(token!.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>;
      expect(claims).toMatchObject({ iss: provider.issuer, aud: AUDIENCE, sub: LOGIN, SubjectNameID: `8${RPPS}` });
      for (const url of urls) {
        expect(url).not.toContain('access_token');
        expect(url).not.toContain('id_token');
        expect(url).not.toContain(token!);
        expect(url).not.toContain(token!.split('.')[2]!);
      }
      const me = await fetch(`${gw.url}/api/me`, { headers: { authorization: `Bearer ${token}` } });
      expect(await me.json()).toEqual({ role: 'reader', userId: LOGIN, rpps: RPPS, name: 'Dr Anne Roques' });
      expect((await fetch(`${gw.url}/api/worklist`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);

      await page.reload();
      await expect.poll(() => page.locator('.who').textContent(), { timeout: 10_000 }).toBe('Dr Anne Roques');
      expect(page.url()).toBe(`${gw.url}/`);
      expect(await sessionToken(page)).toBe(token);

      // Sign-out forgets the token, then ends the provider's session (its confirmation page) and comes back.
      await page.locator('button.sign-out').click();
      await page.waitForURL((url) => url.origin === provider.issuer);
      expect(await sessionToken(page)).toBeUndefined();
      await page.locator('button[name="logout"]').click();
      await page.waitForURL(`${gw.url}/sign-in`, { timeout: 10_000 });
      await page.locator('button.oidc-sign-in').waitFor({ timeout: 10_000 });
      expect(await sessionToken(page)).toBeUndefined();
      await page.goto(`${gw.url}/`);
      await page.waitForURL(`${gw.url}/sign-in`);
      for (const url of urls) expect(url).not.toContain(token!.split('.')[2]!);
      expect(errors).toEqual([]);
    } finally {
      await context.close();
    }
  });

  it('refuses an answer whose state was tampered with, in plain French, and keeps no session', { timeout: 90_000 }, async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const urls = recordUrls(page);
    // The provider's answer altered on its way back: the consent form's redirect chain (to the resume endpoint,
    // then to the gateway) is followed here, since a browser-followed redirect cannot be intercepted, and its last
    // hop's state is changed, as a forged link or an answer to another tab's request would arrive.
    let answer: string | undefined;
    let tampered: string | undefined;
    await page.route(`${provider.issuer}/interaction/**`, async (route) => {
      if (route.request().method() !== 'POST') return route.continue();
      const first = await route.fetch({ maxRedirects: 0 });
      let location = locationOf(first.headers(), route.request().url());
      while (location?.startsWith(`${provider.issuer}/auth/`)) {
        location = locationOf((await context.request.get(location, { maxRedirects: 0 })).headers(), location);
      }
      if (location?.startsWith(`${gw.url}/sign-in/callback#`)) {
        answer = location;
        tampered = location.replace(/([#&]state=)([^&]+)/, (_all, key: string, value: string) => `${key}${value.slice(0, -2)}${value.endsWith('xx') ? 'yy' : 'xx'}`);
        location = tampered;
      }
      if (location === undefined) return route.fulfill({ response: first });
      return route.fulfill({ status: 303, headers: { location } });
    });
    try {
      await signInAtProvider(page);
      await page.waitForURL(`${gw.url}/sign-in/callback`, { timeout: 15_000 });
      expect(answer, 'the provider answered with a code').toMatch(/#(.*&)?code=/);
      expect(tampered).not.toBe(answer);
      expect(urls).toContain(tampered);
      const status = page.locator('main.sign-in .status');
      await expect.poll(() => status.textContent(), { timeout: 10_000 }).toBe(
        'Connexion refusée\u202f: la réponse reçue ne correspond pas à la demande de connexion de cet onglet. Elle a été ignorée. Recommencez la connexion.',
      );
      await screenshot(page, 'oidc-02-tampered-state');
      expect(page.url(), 'the tampered code left the address bar too').toBe(`${gw.url}/sign-in/callback`);
      expect(await sessionToken(page)).toBeUndefined();
      // The code was never exchanged: no request to the token endpoint.
      expect(urls.filter((u) => u.startsWith(`${provider.issuer}/token`))).toEqual([]);
      await page.locator('a.sign-in-again').click();
      await page.locator('button.oidc-sign-in').waitFor({ timeout: 10_000 });
    } finally {
      await context.close();
    }
  });
});
