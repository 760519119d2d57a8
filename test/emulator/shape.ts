/**
 * "Same keys and types at every level": the shape of a sample JSON value, and a check of another
 * value against it. Array items are merged: a key is required when every sample item has it,
 * allowed when some item has it. A non-empty sample array needs a non-empty answer array.
 */
export type Shape =
  | { kind: 'string' | 'number' | 'boolean' | 'null' }
  | { kind: 'array'; item: Shape | undefined }
  | { kind: 'object'; fields: Map<string, { shape: Shape; required: boolean }> };

export function shapeOf(value: unknown): Shape {
  if (value === null) return { kind: 'null' };
  if (Array.isArray(value)) {
    return {
      kind: 'array',
      item: value.map(shapeOf).reduce<Shape | undefined>((a, b) => (a ? merge(a, b) : b), undefined),
    };
  }
  if (typeof value === 'object') {
    const fields = new Map<string, { shape: Shape; required: boolean }>();
    for (const [k, v] of Object.entries(value as Record<string, unknown>))
      fields.set(k, { shape: shapeOf(v), required: true });
    return { kind: 'object', fields };
  }
  const kind = typeof value;
  if (kind === 'string' || kind === 'number' || kind === 'boolean') return { kind };
  throw new Error(`not JSON: ${kind}`);
}

function merge(a: Shape, b: Shape): Shape {
  if (a.kind !== b.kind) throw new Error(`sample array mixes ${a.kind} and ${b.kind}`);
  if (a.kind === 'array' && b.kind === 'array') {
    return { kind: 'array', item: a.item && b.item ? merge(a.item, b.item) : (a.item ?? b.item) };
  }
  if (a.kind === 'object' && b.kind === 'object') {
    const fields = new Map<string, { shape: Shape; required: boolean }>();
    for (const key of new Set([...a.fields.keys(), ...b.fields.keys()])) {
      const fa = a.fields.get(key);
      const fb = b.fields.get(key);
      const shape = fa && fb ? merge(fa.shape, fb.shape) : ((fa ?? fb) as { shape: Shape }).shape;
      fields.set(key, { shape, required: (fa?.required ?? false) && (fb?.required ?? false) });
    }
    return { kind: 'object', fields };
  }
  return a;
}

/** Problems of `value` against `shape`, each with its JSON path; empty when it conforms. */
export function shapeProblems(value: unknown, shape: Shape, path = '$'): string[] {
  const actual = shapeOf(value).kind;
  if (actual !== shape.kind) return [`${path}: expected ${shape.kind}, got ${actual}`];
  if (shape.kind === 'array') {
    const items = value as unknown[];
    if (shape.item === undefined) return [];
    if (items.length === 0) return [`${path}: expected a non-empty array like the sample`];
    const item = shape.item;
    return items.flatMap((v, i) => shapeProblems(v, item, `${path}[${i}]`));
  }
  if (shape.kind === 'object') {
    const obj = value as Record<string, unknown>;
    const problems: string[] = [];
    for (const [key, field] of shape.fields) {
      if (key in obj) problems.push(...shapeProblems(obj[key], field.shape, `${path}.${key}`));
      else if (field.required) problems.push(`${path}.${key}: missing`);
    }
    for (const key of Object.keys(obj))
      if (!shape.fields.has(key)) problems.push(`${path}.${key}: not in the sample`);
    return problems;
  }
  return [];
}
