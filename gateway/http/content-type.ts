/** A parsed `Content-Type` (RFC 9110 8.3.1): lower-cased type and parameter names, unquoted values. */
export interface ParsedContentType {
  type: string;
  parameters: Record<string, string>;
}

const parameterPattern = /;\s*([!#$%&'*+.^\w`|~-]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^;\s]*)/g;

export function parseContentType(header: string | undefined): ParsedContentType | undefined {
  if (!header) return undefined;
  const semicolon = header.indexOf(';');
  const type = (semicolon === -1 ? header : header.slice(0, semicolon)).trim().toLowerCase();
  if (!/^[\w!#$%&'*+.^`|~-]+\/[\w!#$%&'*+.^`|~-]+$/.test(type)) return undefined;
  const parameters: Record<string, string> = {};
  for (const match of header.slice(semicolon === -1 ? header.length : semicolon).matchAll(parameterPattern)) {
    const raw = match[2];
    parameters[match[1].toLowerCase()] = raw.startsWith('"') ? raw.slice(1, -1).replace(/\\(.)/g, '$1') : raw;
  }
  return { type, parameters };
}
