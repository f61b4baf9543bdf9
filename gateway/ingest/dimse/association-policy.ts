import { BlockList, isIP } from 'node:net';
import type { RegionConfig, Site } from '../../../config/region/region-config.ts';

/** PS3.8 9.3.4 A-ASSOCIATE-RJ: reasons given by the service user (source 1). */
export const AssociationRejectReason = {
  NoReasonGiven: 1,
  CallingAeNotRecognized: 3,
  CalledAeNotRecognized: 7,
} as const;

export interface AssociationRequest {
  callingAeTitle: string;
  calledAeTitle: string;
  /** The peer's IP address as the socket sees it (IPv4-mapped IPv6 included). */
  remoteAddress: string | undefined;
  /** Common Name of the verified client certificate, when TLS with client certificates is required. */
  clientCertificateName?: string;
}

export type AssociationDecision =
  | { kind: 'accept'; site: Site }
  | { kind: 'reject'; reason: (typeof AssociationRejectReason)[keyof typeof AssociationRejectReason]; why: string };

export interface AssociationPolicyOptions {
  /** Our AE title: associations addressed to another one are refused. */
  aeTitle: string;
  regionConfig: RegionConfig;
  /** Client certificates are required (DIMSE_TLS_CA): the certificate's CN names the site or one of its AE titles. */
  requireClientCertificate: boolean;
}

/**
 * Who may open an association: a calling AE title listed for a site in the regional configuration, calling our AE
 * title, from one of the site's addresses when it lists some, and with a certificate of that site when TLS client
 * certificates are required. Everything else is rejected at association with the standard reason (PS3.8 7.1.1.9).
 */
export function createAssociationPolicy(options: AssociationPolicyOptions): (request: AssociationRequest) => AssociationDecision {
  const allowLists = new Map<string, BlockList>();
  for (const site of options.regionConfig.sites) {
    if (site.dicomAddresses) allowLists.set(site.finess, blockListOf(site.dicomAddresses));
  }
  return (request) => {
    const called = request.calledAeTitle.trim();
    const calling = request.callingAeTitle.trim();
    if (called !== options.aeTitle) {
      return { kind: 'reject', reason: AssociationRejectReason.CalledAeNotRecognized, why: `called AE title ${called} is not ${options.aeTitle}` };
    }
    const site = options.regionConfig.siteByAeTitle.get(calling.toUpperCase());
    if (!site) {
      return { kind: 'reject', reason: AssociationRejectReason.CallingAeNotRecognized, why: `calling AE title ${calling} belongs to no site of the regional configuration` };
    }
    const allowed = allowLists.get(site.finess);
    if (allowed && !isAllowed(allowed, request.remoteAddress)) {
      return {
        kind: 'reject',
        reason: AssociationRejectReason.CallingAeNotRecognized,
        why: `calling AE title ${calling} (site ${site.finess}) connected from ${request.remoteAddress ?? 'an unknown address'}, which is not in the site's dicomAddresses`,
      };
    }
    if (options.requireClientCertificate) {
      const name = request.clientCertificateName?.trim();
      const names = new Set([site.finess, ...site.aeTitles.map((a) => a.toUpperCase())]);
      if (!name || !names.has(name.toUpperCase())) {
        return {
          kind: 'reject',
          reason: AssociationRejectReason.CallingAeNotRecognized,
          why: `the client certificate (CN ${name ?? 'none'}) is not one of site ${site.finess} (its FINESS or one of its AE titles)`,
        };
      }
    }
    return { kind: 'accept', site };
  };
}

function blockListOf(entries: string[]): BlockList {
  const list = new BlockList();
  for (const entry of entries) {
    const [address, bits] = entry.split('/');
    const family = isIP(address) === 6 ? 'ipv6' : 'ipv4';
    if (bits === undefined) list.addAddress(address, family);
    else list.addSubnet(address, Number(bits), family);
  }
  return list;
}

function isAllowed(list: BlockList, remoteAddress: string | undefined): boolean {
  if (!remoteAddress) return false;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(remoteAddress);
  if (mapped) return list.check(mapped[1], 'ipv4') || list.check(remoteAddress, 'ipv6');
  return list.check(remoteAddress, isIP(remoteAddress) === 6 ? 'ipv6' : 'ipv4');
}
