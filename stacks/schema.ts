/**
 * Schemas of config file values. A schema checks a value read from a file,
 * and its type parameter is the TypeScript type the value stands for, so
 * each field is declared once: here, with its type derived (obj, Infer), or
 * in lib's props, with the schema held to them by the compiler (objOf).
 *
 * The checks are of shape: unknown keys, and the types of values and
 * containers. Which fields are required is said by the types only: a field
 * the file leaves out may come from the defaults or the default topology,
 * so only after the merge can the constructs tell, naming the field.
 */

/** A config file error, in one line: `file: path: detail`. */
export class ConfigError extends Error {
  constructor(file: string, path: string, detail: string) {
    super(`${file}: ${path}: ${detail}`);
    this.name = 'ConfigError';
  }
}

// Names the type a schema stands for: a key no value has, read only by Infer.
declare const TYPE: unique symbol;

/** The shape of a config value of type `T`. */
export interface Schema<T> {
  /** Throws a ConfigError naming the file and `path` (a dotted path, '' at the top) if `value` is not of this shape. */
  readonly check: (file: string, path: string, value: unknown) => void;
  /** Type only: never set. */
  readonly [TYPE]?: T;
}

/** The TypeScript type of a schema's values. */
export type Infer<S> = S extends Schema<infer T> ? T : never;

type Fields = { readonly [key: string]: Schema<unknown> };
/** A mapping's type: fields whose schema allows undefined (optional) may be left out. */
type ObjectOf<F extends Fields> = { readonly [K in keyof F as undefined extends Infer<F[K]> ? never : K]: Infer<F[K]> } & {
  readonly [K in keyof F as undefined extends Infer<F[K]> ? K : never]?: Infer<F[K]>;
};
/** A schema for each field of `T`, of that field's type. */
export type FieldsOf<T> = { readonly [K in keyof Required<T>]: Schema<T[K]> };

const where = (path: string) => path || '(top level)';

function scalar<T>(type: 'string' | 'number' | 'boolean'): Schema<T> {
  return {
    check(file, path, value) {
      if (typeof value !== type) throw new ConfigError(file, where(path), `expected a ${type}, got ${JSON.stringify(value)}`);
      // YAML's .nan and .inf are numbers; copied as JSON they would become null, and so the default.
      if (type === 'number' && !Number.isFinite(value)) {
        throw new ConfigError(file, where(path), `expected a finite number, got ${value}`);
      }
    },
  };
}

/** A string; `T` narrows the type to the values the constructs accept (they check it). */
export const str = <T extends string = string>(): Schema<T> => scalar('string');
/** A finite number. */
export const num = (): Schema<number> => scalar('number');
/** true or false (a string "false" is refused). */
export const bool = (): Schema<boolean> => scalar('boolean');

/** A list of values of one schema. */
export function list<T>(item: Schema<T>): Schema<T[]> {
  return {
    check(file, path, value) {
      if (!Array.isArray(value)) throw new ConfigError(file, where(path), 'expected a list');
      value.forEach((v, i) => item.check(file, `${path}[${i}]`, v));
    },
  };
}

function mapping(file: string, path: string, value: unknown): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new ConfigError(file, where(path), 'expected a mapping');
  return value as Record<string, unknown>;
}

const child = (path: string, key: string) => (path ? `${path}.${key}` : key);

function fieldsCheck(fields: Fields): Schema<unknown>['check'] {
  return (file, path, value) => {
    for (const [k, v] of Object.entries(mapping(file, path, value))) {
      // Own fields only: "constructor" or "toString" is an unknown key, not Object's.
      if (!Object.prototype.hasOwnProperty.call(fields, k)) {
        throw new ConfigError(file, where(path), `unknown key "${k}" (expected one of ${Object.keys(fields).join(', ')})`);
      }
      fields[k].check(file, child(path, k), v);
    }
  };
}

/** A mapping with these fields, and no others; its type is derived from them. */
export function obj<F extends Fields>(fields: F): Schema<ObjectOf<F>> {
  return { check: fieldsCheck(fields) };
}

/**
 * A mapping of the fields of `T`, a type declared elsewhere (lib's props),
 * and no others: the compiler holds the fields to T's, every one and each
 * of its type, and the value's type is T with T's documentation.
 */
export function objOf<T extends object>(fields: FieldsOf<T>): Schema<T> {
  return { check: fieldsCheck(fields) };
}

/** A mapping of any keys to values of one schema. */
export function record<T>(item: Schema<T>): Schema<Record<string, T>> {
  return {
    check(file, path, value) {
      for (const [k, v] of Object.entries(mapping(file, path, value))) item.check(file, child(path, k), v);
    },
  };
}

/** A field the type lets be left out (the check is the same: no check requires a field). */
export const optional = <T>(schema: Schema<T>): Schema<T | undefined> => schema;

/** A mapping whose fields the type all lets be left out, as where a config is merged over defaults. */
export const partial = <T extends object>(schema: Schema<T>): Schema<Partial<T>> => schema;

/** A value that a function checks, for what the schemas above cannot say. */
export const custom = <T>(check: Schema<T>['check']): Schema<T> => ({ check });
