// GET /api/me: who a token stands for, named as the regional configuration names them.
import { beforeAll, describe, expect, it } from 'vitest';
import { loadRegionConfig } from '../../../config/region/load-region-config.ts';
import type { RegionConfig } from '../../../config/region/region-config.ts';
import { DEFAULT_REGION_CONFIG_PATH } from '../../../config/region/resolve-config-path.ts';
import { whoAmI } from '../../../gateway/auth/who-am-i.ts';

let config: RegionConfig;
beforeAll(async () => {
  config = await loadRegionConfig(DEFAULT_REGION_CONFIG_PATH);
});

describe('whoAmI', () => {
  it("names a reader or expert by their RPPS, whatever the provider's subject", () => {
    expect(whoAmI({ userId: 'f:550dc1c8:899700218896', role: 'reader', rpps: '10009000011' }, config)).toEqual({
      role: 'reader',
      userId: 'f:550dc1c8:899700218896',
      rpps: '10009000011',
      site: undefined,
      territory: undefined,
      name: 'Dr Anne Roques',
    });
    expect(whoAmI({ userId: 'x', role: 'expert', rpps: '10009000011' }, config).name).toBe('Dr Anne Roques');
  });

  it('names a coordination by its territory, a site by its FINESS, and anyone else by their user id', () => {
    expect(whoAmI({ userId: 'c', role: 'coordinator', territory: 'ariege' }, config).name).toBe(`Coordination ${config.territoryById.get('ariege')!.name}`);
    expect(whoAmI({ userId: 's', role: 'sender', site: '090000050' }, config).name).toBe(config.siteByFiness.get('090000050')!.name);
    expect(whoAmI({ userId: 'unknown-reader', role: 'reader', rpps: '19999999999' }, config).name).toBe('unknown-reader');
    expect(whoAmI({ userId: 'admin-1', role: 'admin' }, config).name).toBe('admin-1');
  });
});
