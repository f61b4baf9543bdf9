// Test-only libraries that ship no TypeScript declarations.
declare module 'xhr2' {
  const XMLHttpRequest: unknown;
  export default XMLHttpRequest;
}

// oidc-provider 8 (a real OpenID Connect provider for the browser sign-in tests) ships no declarations: only what
// test/support/oidc-provider-process.ts uses.
declare module 'oidc-provider' {
  import type { Server } from 'node:http';
  export interface ProviderConfiguration {
    [setting: string]: unknown;
  }
  export default class Provider {
    constructor(issuer: string, configuration: ProviderConfiguration);
    listen(port: number, host: string, callback: () => void): Server;
  }
  export const errors: { InvalidTarget: new (description?: string) => Error };
}
