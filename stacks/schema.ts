/**
 * Shapes of config file values and their check: unknown keys, the types of
 * values and containers. A module of its own so that the config and the
 * backends, which both describe values by shapes, need not import each other.
 */

/** A config file error, in one line: `file: path: detail`. */
export class ConfigError extends Error {
  constructor(file: string, path: string, detail: string) {
    super(`${file}: ${path}: ${detail}`);
    this.name = 'ConfigError';
  }
}

/** What a config value must look like; a function checks what a shape cannot say. */
export type Shape =
  | 'string'
  | 'number'
  | 'boolean'
  | { [key: string]: Shape }
  | [Shape]
  | ((file: string, path: string, value: unknown) => void);

export function checkShape(file: string, path: string, value: unknown, shape: Shape): void {
  const where = path || '(top level)';
  if (typeof shape === 'function') return shape(file, path, value);
  if (typeof shape === 'string') {
    if (typeof value !== shape) throw new ConfigError(file, where, `expected a ${shape}, got ${JSON.stringify(value)}`);
    // YAML's .nan and .inf are numbers; copied as JSON they would become null, and so the default.
    if (shape === 'number' && !Number.isFinite(value)) throw new ConfigError(file, where, `expected a finite number, got ${value}`);
    return;
  }
  if (Array.isArray(shape)) {
    if (!Array.isArray(value)) throw new ConfigError(file, where, 'expected a list');
    value.forEach((v, i) => checkShape(file, `${path}[${i}]`, v, shape[0]));
    return;
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new ConfigError(file, where, 'expected a mapping');
  }
  for (const [k, v] of Object.entries(value)) {
    // Own keys only: "constructor" or "toString" is an unknown key, not Object's method taken for a check.
    const own = (key: string) => (Object.prototype.hasOwnProperty.call(shape, key) ? shape[key] : undefined);
    const sub = own(k) ?? own('*');
    if (!sub) throw new ConfigError(file, where, `unknown key "${k}" (expected one of ${Object.keys(shape).join(', ')})`);
    checkShape(file, path ? `${path}.${k}` : k, v, sub);
  }
}
