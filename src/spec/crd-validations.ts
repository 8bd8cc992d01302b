// CEL rules (x-kubernetes-validations) for what berth's schema checks beyond
// an OpenAPI structural schema, so the apiserver refuses at `kubectl apply`
// (and `--dry-run=server`) the same specs `berth validate` refuses, instead of
// storing them for berth to report as InvalidSpec later. Each rule mirrors a
// refinement in schema.ts / quantity.ts and keeps its message.
import type { JSONSchemaProps } from './crd.js';

export const CLAIM_SPEC_IMMUTABLE = 'an InstanceClaim spec is immutable: delete the claim and make a new one';

export interface ValidationRule {
  rule: string;
  message: string;
  fieldPath?: string;
}

// The quantity grammars of quantity.ts (parseMemory, parseCpus), as RE2 for CEL.
const MEMORY_RE = '^[0-9]+([.][0-9]+)?(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?$';
const CPU_RE = '^[0-9]+([.][0-9]+)?m?$';

const quantityRule = (field: string, re: string, example: string): ValidationRule => ({
  // int-or-string: a number is checked by its own schema; a string must match the grammar.
  rule: `!has(self.${field}) || type(self.${field}) != string || self.${field}.matches('${re}')`,
  message: `invalid quantity (e.g. ${example})`,
  fieldPath: `.${field}`,
});

/** The rules for a node, by the shape of its properties (the same sub-schemas appear under spec and spec.template). */
function rulesFor(node: JSONSchemaProps, path: string): ValidationRule[] {
  const props = node.properties ?? {};
  const rules: ValidationRule[] = [];
  if (props['cpus'] && props['memory']) {
    rules.push(quantityRule('memory', MEMORY_RE, '"512Mi", "1Gi", "536870912"'), quantityRule('cpus', CPU_RE, '"1.5", "500m"'));
  }
  if (props['exec'] && props['http'] && props['tcp']) {
    rules.push({ rule: "[has(self.exec), has(self.http), has(self.tcp)].filter(x, x).size() == 1", message: 'exactly one of exec, http or tcp is required' });
  }
  if (props['minReady'] && props['maxSize'] && props['template']) {
    rules.push({ rule: '!has(self.maxSize) || self.maxSize >= (has(self.minReady) ? self.minReady : 1)', message: 'maxSize must be at least minReady', fieldPath: '.maxSize' });
  }
  if (path === 'spec' && props['poolRef'] && props['ttlSeconds']) {
    // A claim's rules read its spec when it is made and when it binds: a later change would be stored and never
    // acted on (the API refuses it the same way: resources.ts).
    rules.push({ rule: 'self == oldSelf', message: CLAIM_SPEC_IMMUTABLE });
  }
  if (/(^|\.)spec(\.template)?$/.test(path) && props['labels']?.additionalProperties) {
    rules.push({ rule: "!has(self.labels) || self.labels.all(k, !k.startsWith('berth.dev/'))", message: 'the berth.dev/ label prefix is reserved for berth', fieldPath: '.labels' });
  }
  return rules;
}

/** Adds the rules to every node of a spec schema that needs them (in place); returns the schema. */
export function withCelValidations(spec: JSONSchemaProps, path = 'spec'): JSONSchemaProps {
  const rules = rulesFor(spec, path);
  if (rules.length > 0) spec['x-kubernetes-validations'] = [...(spec['x-kubernetes-validations'] ?? []), ...rules];
  for (const [name, child] of Object.entries(spec.properties ?? {})) withCelValidations(child, `${path}.${name}`);
  if (spec.items) withCelValidations(spec.items, `${path}[]`);
  return spec;
}
