import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { performance, type EventLoopUtilization } from 'node:perf_hooks';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { RegionConfig } from '../../config/region/region-config.ts';
import type { Queryable } from '../../storage/report/report-store.ts';
import type { IngestedInstance, StowStep } from '../ingest/ingest-instance.ts';
import { registerTurnaroundMetrics } from './turnaround-metrics.ts';
import type { DimseObserver } from '../ingest/dimse/store-scp.ts';

/**
 * Prometheus metrics. Labels are route patterns (`/dicomweb/studies/:study/metadata`), methods and status
 * classes only: never a UID, a patient id or a name.
 */
export class GatewayMetrics {
  readonly registry = new Registry();
  readonly requestDuration = new Histogram({
    name: 'astreinte_http_request_duration_seconds',
    help: 'HTTP request duration by route pattern, method and status class',
    labelNames: ['route', 'method', 'status'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });
  readonly stowInstances = new Counter({
    name: 'astreinte_stow_instances_total',
    help: 'Instances received by STOW-RS, by outcome (stored, identical, failed)',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });
  readonly stowBytes = new Counter({
    name: 'astreinte_stow_bytes_total',
    help: 'Bytes of instances stored by STOW-RS',
    registers: [this.registry],
  });
  /** Where a slow STOW spends its time: disk flushes (store), the database (index), or the event loop (all). */
  readonly stowStepDuration = new Histogram({
    name: 'astreinte_stow_step_duration_seconds',
    help:
      'STOW-RS steps: per instance spool (spool file closed after the last byte), parse (header read and checked), ' +
      'store (object durable), index (index row committed); per request answer (from the last byte to the answer)',
    labelNames: ['step'] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
    registers: [this.registry],
  });
  /** Per sending site (FINESS from the regional configuration, `none` for an administrator): bounded labels. */
  readonly ingestInstances = new Counter({
    name: 'astreinte_ingest_instances_total',
    help: 'Instances received, by transport (stow, dimse), sending site (FINESS) and outcome (stored, identical, failed)',
    labelNames: ['transport', 'site', 'outcome'] as const,
    registers: [this.registry],
  });
  readonly ingestBytes = new Counter({
    name: 'astreinte_ingest_bytes_total',
    help: 'Bytes of instances received, by transport (stow, dimse), sending site (FINESS) and outcome (stored, identical, failed)',
    labelNames: ['transport', 'site', 'outcome'] as const,
    registers: [this.registry],
  });
  readonly auditFailures = new Counter({
    name: 'astreinte_audit_append_failures_total',
    help: 'Audit events that could not be appended to the trail',
    registers: [this.registry],
  });

  readonly dimseAssociations = new Counter({
    name: 'astreinte_dimse_associations_total',
    help: 'DICOM associations requested, by outcome (accepted, rejected), rejection reason and calling site (FINESS, or unknown)',
    labelNames: ['outcome', 'reason', 'site'] as const,
    registers: [this.registry],
  });
  readonly dimseCStores = new Counter({
    name: 'astreinte_dimse_cstore_total',
    help: 'C-STORE requests answered, by status class (success, warning, failure) and calling site',
    labelNames: ['status', 'site'] as const,
    registers: [this.registry],
  });
  readonly dimseBytes = new Counter({
    name: 'astreinte_dimse_received_bytes_total',
    help: 'C-STORE data set bytes received, by calling site',
    labelNames: ['site'] as const,
    registers: [this.registry],
  });
  readonly dimseAssociationDuration = new Histogram({
    name: 'astreinte_dimse_association_duration_seconds',
    help: 'Time from an accepted association to the end of its connection, by calling site',
    labelNames: ['site'] as const,
    buckets: [0.1, 0.5, 1, 5, 15, 60, 300, 1800],
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'astreinte_' });
    let since: EventLoopUtilization = performance.eventLoopUtilization();
    new Gauge({
      name: 'astreinte_event_loop_utilization',
      help:
        'Share of the time since the previous scrape the event loop was busy (0 to 1). Near 1, every request and ' +
        'every file or database completion waits for the loop: the gateway is CPU-bound on one core.',
      registers: [this.registry],
      collect() {
        const now = performance.eventLoopUtilization();
        this.set(performance.eventLoopUtilization(now, since).utilization);
        since = now;
      },
    });
  }

  private turnaroundWatched = false;

  /** Adds the turnaround histograms, read from the database at each scrape (once per registry). */
  watchTurnaround(database: Queryable, config: RegionConfig): void {
    if (this.turnaroundWatched) return;
    registerTurnaroundMetrics(this.registry, database, config);
    this.turnaroundWatched = true;
  }

  countIngest(transport: 'stow' | 'dimse', ingested: IngestedInstance): void {
    const labels = { transport, site: ingested.site ?? 'none', outcome: ingested.kind };
    this.ingestInstances.inc(labels);
    this.ingestBytes.inc(labels, ingested.bytes);
  }

  /** What the DICOM listener reports; `siteOf` maps a calling AE title to its site (unknown ones to `unknown`). */
  dimseObserver(siteOf: (callingAeTitle: string) => string): DimseObserver {
    return {
      associationAccepted: (site) => this.dimseAssociations.inc({ outcome: 'accepted', reason: '', site }),
      associationRejected: (reason, callingAeTitle) => this.dimseAssociations.inc({ outcome: 'rejected', reason, site: siteOf(callingAeTitle) }),
      cStore: (site, status, bytes) => {
        this.dimseCStores.inc({ status: statusClass(status), site });
        this.dimseBytes.inc({ site }, bytes);
      },
      associationEnded: (site, seconds) => this.dimseAssociationDuration.observe({ site }, seconds),
    };
  }

  timeStowStep(step: StowStep, seconds: number): void {
    this.stowStepDuration.observe({ step }, seconds);
  }

  /** Times every request; the label is the matched route pattern, or `unmatched`. */
  timeRequests(): RequestHandler {
    return (req: Request, res: Response, next: NextFunction) => {
      const end = this.requestDuration.startTimer();
      res.once('finish', () => {
        const pattern = routePattern(req);
        end({ route: pattern, method: req.method, status: `${Math.floor(res.statusCode / 100)}xx` });
      });
      next();
    };
  }

  handler(): RequestHandler {
    return async (_req, res) => {
      res.set('Content-Type', this.registry.contentType).send(await this.registry.metrics());
    };
  }
}

function routePattern(req: Request): string {
  const route = (req as Request & { route?: { path?: unknown } }).route;
  if (!route || typeof route.path !== 'string') return 'unmatched';
  // req.baseUrl is reset once a mounted router is left: the mount point is read from the URL's first segment.
  const mount = ['/dicomweb', '/api'].find((prefix) => req.originalUrl.startsWith(`${prefix}/`)) ?? '';
  return `${mount}${route.path}`;
}

/** PS3.4 C.4.2.1.4 / B.2.3: 0x0000 success, 0xB000-0xBFFF (and 0x0107, 0x0116) warning, the rest failure. */
function statusClass(status: number): 'success' | 'warning' | 'failure' {
  if (status === 0) return 'success';
  if ((status & 0xf000) === 0xb000 || status === 0x0107 || status === 0x0116) return 'warning';
  return 'failure';
}
