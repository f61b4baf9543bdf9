// Test-only libraries that ship no TypeScript declarations.
declare module 'xhr2' {
  const XMLHttpRequest: unknown;
  export default XMLHttpRequest;
}
