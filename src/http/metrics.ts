import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Firewatch's own Prometheus metrics; one registry per app instance so tests don't share counters. */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'firewatch_process_' });
  return {
    registry,
    httpRequests: new Counter({
      name: 'firewatch_http_requests_total',
      help: 'HTTP requests by method, route pattern and status code.',
      labelNames: ['method', 'route', 'status'] as const,
      registers: [registry],
    }),
    httpDuration: new Histogram({
      name: 'firewatch_http_request_duration_seconds',
      help: 'HTTP request latency by route pattern.',
      labelNames: ['method', 'route'] as const,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
    eventsAccepted: new Counter({
      name: 'firewatch_events_accepted_total',
      help: 'Events committed by intake, by source and outcome.',
      labelNames: ['source', 'outcome'] as const,
      registers: [registry],
    }),
    eventsRejected: new Counter({
      name: 'firewatch_events_rejected_total',
      help: 'Events refused by intake, by source and reason.',
      labelNames: ['source', 'reason'] as const,
      registers: [registry],
    }),
    incidentsOpened: new Counter({
      name: 'firewatch_incidents_opened_total',
      help: 'Incidents opened.',
      registers: [registry],
    }),
    dbQueryDuration: new Histogram({
      name: 'firewatch_db_query_duration_seconds',
      help: 'Database query latency as measured by the query builder.',
      buckets: [0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1],
      registers: [registry],
    }),
    intakeBatchSize: new Histogram({
      name: 'firewatch_intake_batch_size',
      help: 'Requests committed together in one intake transaction.',
      buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256],
      registers: [registry],
    }),
    jobLateness: new Histogram({
      name: 'firewatch_job_lateness_seconds',
      help: 'How long after its due time a durable timer ran, by job kind.',
      labelNames: ['kind'] as const,
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
