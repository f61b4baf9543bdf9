/**
 * Signing in from the reading web app on the embedded default (no identity provider): the people of the regional
 * configuration (readers, experts, coordinators, sending sites, and the region's analyst) are listed, and picking one gets a token signed by
 * the embedded key, exactly as `astreinte token` prints it. These routes exist only when no OpenID Connect provider
 * is configured: with one (Pro Santé Connect) they are not mounted at all, and people sign in at the provider.
 * Anyone who reaches such an installation may sign in as anyone: it is the demonstration and development setup,
 * as docs/security.md says.
 */
import express, { type RequestHandler } from 'express';
import type { RegionConfig } from '../../config/region/region-config.ts';
import type { Role } from '../../core/identity/roles.ts';
import { BadRequest, NotFound } from '../http/problem.ts';
import { issueToken, loadOrCreateSigningKey, type EmbeddedSigningKey } from './embedded-signing-key.ts';

export interface SignInPerson {
  /** `reader:<RPPS>`, `expert:<RPPS>`, `coordinator:<territory>`, `sender:<FINESS>`, `analyst:<region>`. */
  id: string;
  role: Extract<Role, 'reader' | 'expert' | 'coordinator' | 'sender' | 'analyst'>;
  name: string;
  detail: string;
}

interface TokenRequest {
  role: SignInPerson['role'];
  user: string;
  rpps?: string;
  site?: string;
  territory?: string;
  name: string;
}

const EXPERT_QUALIFICATIONS = new Set(['neuroradiologist', 'cardiovascular-imaging', 'pneumologist', 'neurosurgeon']);

export function signInPeople(config: RegionConfig): SignInPerson[] {
  const territoryName = (id: string) => config.territoryById.get(id)?.name ?? id;
  const people: SignInPerson[] = [];
  for (const reader of config.readers) {
    people.push({ id: `reader:${reader.rpps}`, role: 'reader', name: reader.name, detail: `RPPS ${reader.rpps}` });
  }
  for (const reader of config.readers) {
    const expertise = reader.qualifications.filter((q) => EXPERT_QUALIFICATIONS.has(q));
    if (expertise.length > 0) {
      people.push({ id: `expert:${reader.rpps}`, role: 'expert', name: reader.name, detail: expertise.join(', ') });
    }
  }
  for (const territory of config.territories) {
    people.push({ id: `coordinator:${territory.id}`, role: 'coordinator', name: `Coordination ${territory.name}`, detail: territory.id });
  }
  for (const site of config.sites) {
    people.push({ id: `sender:${site.finess}`, role: 'sender', name: site.name, detail: `FINESS ${site.finess} · ${territoryName(site.territory)}` });
  }
  // The programme's analyst (ARS, regional observatory): aggregates only, the dashboard of every site.
  people.push({ id: `analyst:${config.region.id}`, role: 'analyst', name: `Analyste ${config.region.name}`, detail: 'indicateurs régionaux (agrégats)' });
  return people;
}

function tokenRequestFor(config: RegionConfig, id: string): TokenRequest | undefined {
  const [role, key] = id.split(':', 2) as [string, string | undefined];
  if (!key) return undefined;
  switch (role) {
    case 'reader':
    case 'expert': {
      const reader = config.readerByRpps.get(key);
      if (!reader) return undefined;
      if (role === 'expert' && !reader.qualifications.some((q) => EXPERT_QUALIFICATIONS.has(q))) return undefined;
      return { role, user: reader.rpps, rpps: reader.rpps, name: reader.name };
    }
    case 'coordinator': {
      const territory = config.territoryById.get(key);
      return territory ? { role, user: `coordination-${territory.id}`, territory: territory.id, name: `Coordination ${territory.name}` } : undefined;
    }
    case 'analyst':
      return key === config.region.id ? { role, user: `analyst-${config.region.id}`, name: `Analyste ${config.region.name}` } : undefined;
    case 'sender': {
      const site = config.siteByFiness.get(key);
      return site ? { role, user: `site-${site.finess}`, site: site.finess, name: site.name } : undefined;
    }
    default:
      return undefined;
  }
}

export interface SignInOptions {
  regionConfig: RegionConfig;
  keyDir: string;
  audience: string;
}

export interface SignInHandlers {
  /** GET /api/sign-in/people */
  people: RequestHandler;
  /** POST /api/sign-in (its JSON body parser first) */
  signIn: RequestHandler[];
}

export function signInHandlers(options: SignInOptions): SignInHandlers {
  let key: Promise<EmbeddedSigningKey> | undefined;
  return {
    people: (_req, res) => {
      res.set('Cache-Control', 'no-store');
      res.json({ people: signInPeople(options.regionConfig) });
    },
    signIn: [
      express.json({ limit: '4kb' }),
      async (req, res) => {
        const id = (req.body as { id?: unknown } | undefined)?.id;
        if (typeof id !== 'string') throw new BadRequest('Send {"id": "..."}: the id of a person from GET /api/sign-in/people.', 'bad-sign-in');
        const request = tokenRequestFor(options.regionConfig, id);
        if (!request) throw new NotFound(`Nobody with the id ${JSON.stringify(id)} in the regional configuration.`, 'unknown-person');
        key ??= loadOrCreateSigningKey(options.keyDir);
        const token = await issueToken(await key, { ...request, audience: options.audience });
        res.set('Cache-Control', 'no-store');
        res.json({ token, role: request.role, user: request.user, name: request.name });
      },
    ],
  };
}
