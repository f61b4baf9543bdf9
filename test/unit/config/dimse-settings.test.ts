import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseRegionConfig } from '../../../config/region/load-region-config.ts';
import { RegionConfigError } from '../../../config/region/region-config-error.ts';
import { DEFAULT_REGION_CONFIG_PATH } from '../../../config/region/resolve-config-path.ts';
import { ConfigurationError } from '../../../core/configuration-error.ts';
import { loadSettings } from '../../../config/settings.ts';

function problems(env: NodeJS.ProcessEnv): string[] {
  try {
    loadSettings(env);
  } catch (error) {
    if (error instanceof ConfigurationError) return error.problems;
    throw error;
  }
  return [];
}

describe('DICOM network settings', () => {
  it('listens on 11112 as ASTREINTE on HOST by default, 64 associations at most; DIMSE_PORT=0 turns it off', () => {
    expect(loadSettings({ HOST: '127.0.0.1' }).dimse).toEqual({ port: 11112, host: '127.0.0.1', aeTitle: 'ASTREINTE', maxAssociations: 64, tls: undefined });
    expect(loadSettings({ DIMSE_MAX_ASSOCIATIONS: '12' }).dimse.maxAssociations).toBe(12);
    expect(loadSettings({ DIMSE_PORT: '0', DIMSE_HOST: '10.0.0.4', DIMSE_AE_TITLE: 'PACS_REGION' }).dimse).toMatchObject({ port: 0, host: '10.0.0.4', aeTitle: 'PACS_REGION' });
    expect(loadSettings({ DIMSE_TLS_CERT: '/c.pem', DIMSE_TLS_KEY: '/k.pem', DIMSE_TLS_CA: '/ca.pem' }).dimse.tls).toEqual({ certFile: '/c.pem', keyFile: '/k.pem', caFile: '/ca.pem' });
  });

  it('names the variable of a bad value', () => {
    expect(problems({ DIMSE_AE_TITLE: 'BACK\\SLASH' })[0]).toMatch(/^DIMSE_AE_TITLE=.*16 printable ASCII/);
    expect(problems({ DIMSE_AE_TITLE: 'A_TITLE_OF_MORE_THAN_16' })[0]).toMatch(/^DIMSE_AE_TITLE/);
    expect(problems({ DIMSE_PORT: '70000' })[0]).toMatch(/^DIMSE_PORT/);
    expect(problems({ DIMSE_MAX_ASSOCIATIONS: '0' })[0]).toMatch(/^DIMSE_MAX_ASSOCIATIONS/);
    expect(problems({ DIMSE_TLS_CERT: '/c.pem' })[0]).toMatch(/^DIMSE_TLS_KEY: DICOM TLS needs/);
    expect(problems({ DIMSE_TLS_CA: '/ca.pem' })[0]).toMatch(/DICOM TLS needs/);
  });
});

describe("a site's dicomMaxAssociations in the regional configuration", () => {
  const region = (limit: string) =>
    readFileSync(DEFAULT_REGION_CONFIG_PATH, 'utf8').replace('aeTitles: [STGIRONS_CT, STGIRONS_CR]', `aeTitles: [STGIRONS_CT, STGIRONS_CR]\n    dicomMaxAssociations: ${limit}`);
  it('takes a whole number from 1 to 1000, absent by default', () => {
    expect(parseRegionConfig(region('4'), 'region.yaml').siteByFiness.get('090000050')?.dicomMaxAssociations).toBe(4);
    expect(parseRegionConfig(readFileSync(DEFAULT_REGION_CONFIG_PATH, 'utf8'), 'region.yaml').siteByFiness.get('090000050')?.dicomMaxAssociations).toBeUndefined();
    expect(() => parseRegionConfig(region('0'), 'region.yaml')).toThrow(/dicomMaxAssociations.*at least 1/);
    expect(() => parseRegionConfig(region('2.5'), 'region.yaml')).toThrow(/dicomMaxAssociations.*whole number/);
  });
});

describe("a site's dicomAddresses in the regional configuration", () => {
  // The shipped region, with CH Saint-Girons pinned to some addresses.
  const region = (addresses: string) =>
    readFileSync(DEFAULT_REGION_CONFIG_PATH, 'utf8').replace('aeTitles: [STGIRONS_CT, STGIRONS_CR]', `aeTitles: [STGIRONS_CT, STGIRONS_CR]\n    dicomAddresses: ${addresses}`);
  it('takes addresses and CIDR blocks, IPv4 and IPv6', () => {
    const config = parseRegionConfig(region('["10.31.4.0/24", "192.168.1.20", "2001:db8::/32"]'), 'region.yaml');
    expect(config.sites.find((site) => site.finess === '090000050')?.dicomAddresses).toEqual(['10.31.4.0/24', '192.168.1.20', '2001:db8::/32']);
  });
  it('refuses what is not an address or a block, naming where', () => {
    try {
      parseRegionConfig(region('["10.31.4.0/33", "pacs.chiva.example"]'), 'region.yaml');
      throw new Error('expected a refusal');
    } catch (error) {
      expect(error).toBeInstanceOf(RegionConfigError);
      const messages = (error as RegionConfigError).problems.map((p) => p.message).join('\n');
      expect((error as RegionConfigError).problems).toHaveLength(2);
      expect(messages).toMatch(/must be an IP address .* or a CIDR block/);
    }
  });
});

describe('dicomPeers in the regional configuration (send a study to AE X)', () => {
  const withPeers = (peers: string) => readFileSync(DEFAULT_REGION_CONFIG_PATH, 'utf8').replace(/\ndicomPeers:\n(  - [^\n]*\n)+/, `\ndicomPeers:\n${peers}\n`);
  it('reads AE title, host, port (104 by default), TLS from dicoms:// and the calling AE title (ASTREINTE by default)', () => {
    const config = parseRegionConfig(
      withPeers('  - { id: a, aeTitle: PACS_A, target: "dicom://pacs-a.example" }\n  - { id: b, name: PACS B, aeTitle: PACS_B, target: "dicoms://pacs-b.example:2762", callingAeTitle: ASTR_TLS }'),
      'region.yaml',
    );
    expect(config.dicomPeers).toEqual([
      { id: 'a', name: 'a', aeTitle: 'PACS_A', host: 'pacs-a.example', port: 104, tls: false, callingAeTitle: 'ASTREINTE' },
      { id: 'b', name: 'PACS B', aeTitle: 'PACS_B', host: 'pacs-b.example', port: 2762, tls: true, callingAeTitle: 'ASTR_TLS' },
    ]);
  });
  it('refuses a peer id used twice and a target that is not dicom:// or dicoms://', () => {
    expect(() => parseRegionConfig(withPeers('  - { id: a, aeTitle: X, target: "dicom://x" }\n  - { id: a, aeTitle: Y, target: "dicom://y" }'), 'region.yaml')).toThrow(/DICOM peer/);
    expect(() => parseRegionConfig(withPeers('  - { id: a, aeTitle: X, target: "https://x" }'), 'region.yaml')).toThrow(/dicom or dicoms URL/);
  });
});
