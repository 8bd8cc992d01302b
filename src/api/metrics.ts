import { Histogram, type Registry } from 'prom-client';

export const API_REQUEST_METRIC = 'berth_api_request_duration_seconds';
export type ApiRequestHistogram = Histogram<'verb' | 'resource' | 'code'>;

/** One histogram per registry (a second server on the same registry shares it). */
export function apiRequestHistogram(registry: Registry): ApiRequestHistogram {
  const existing = registry.getSingleMetric(API_REQUEST_METRIC);
  if (existing) return existing as ApiRequestHistogram;
  return new Histogram({
    name: API_REQUEST_METRIC,
    help: 'API request latency by verb, resource and HTTP code (for watch, log and other streams: time until the stream opened)',
    labelNames: ['verb', 'resource', 'code'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [registry],
  });
}
