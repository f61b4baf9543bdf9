// Routing latency (stability -> worklist item visible) on both queue backends, each on private servers.
import { loadRegionConfig } from '../config/region/load-region-config.ts';
import { DEFAULT_REGION_CONFIG_PATH } from '../config/region/resolve-config-path.ts';
import { openDatabase } from '../storage/database/database.ts';
import { startTestPostgres } from '../test/support/postgres.ts';
import { startRedisServer } from '../test/support/redis-server.ts';
import { benchRouting, type RoutingBenchResult } from './routing/bench-routing.ts';

export interface RoutingRun {
  backend: 'postgres' | 'redis';
  result?: RoutingBenchResult;
  error?: string;
}

/** A burst of studies becoming stable at `ratePerSecond`, measured on PostgreSQL-backed and Redis-backed queues. */
export async function benchRoutingBackends(studies: number, ratePerSecond: number): Promise<RoutingRun[]> {
  const regionConfig = await loadRegionConfig(DEFAULT_REGION_CONFIG_PATH);
  const runs: RoutingRun[] = [];
  for (const backend of ['postgres', 'redis'] as const) {
    const postgres = await startTestPostgres();
    const redis = backend === 'redis' ? await startRedisServer() : undefined;
    const database = await openDatabase({ kind: 'external', url: postgres.url });
    try {
      const result = await benchRouting({ database, regionConfig, redisUrl: redis?.url, studies, ratePerSecond, stabilityMs: 1_000 });
      runs.push({ backend, result });
    } catch (error) {
      runs.push({ backend, error: (error as Error).message });
    } finally {
      await database.close();
      await redis?.stop();
      await postgres.stop();
    }
  }
  return runs;
}
