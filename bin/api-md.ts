/**
 * Generates API.md, the API reference of lvs-cdktf, from the TSDoc comments
 * of what lib/index.ts exports, with the TypeScript compiler API.
 *
 *   npm run docs:api             writes API.md
 *   npm run docs:api -- --check  exits 1 if API.md is stale (writes nothing)
 *
 * The walk starts at lib/index.ts and follows its exports (`export * from`,
 * `export { a } from`, `export type { ... }`, local `export` declarations),
 * so exactly what the index exports is documented, in the order of the
 * index, members in declaration order. The output holds no timestamps,
 * absolute paths or line numbers, so __tests__/api-md.test.ts can compare
 * the committed file with a fresh rendering.
 *
 * Inherited members: interfaces list every inherited property (marked with
 * the interface that declares it); classes list the public members inherited
 * from classes of this package and name external base classes (`Construct`)
 * without listing their members.
 */
import { existsSync, readFileSync, writeFileSync } from 'fs';
import { join, relative, resolve, sep } from 'path';
import * as ts from 'typescript';

type Kind = 'construct' | 'class' | 'struct' | 'interface' | 'enum' | 'type' | 'function' | 'constant' | 'namespace';

const SECTIONS: readonly [Kind, string][] = [
  ['construct', 'Constructs'],
  ['class', 'Classes'],
  ['struct', 'Structs'],
  ['interface', 'Interfaces'],
  ['enum', 'Enums'],
  ['type', 'Types'],
  ['function', 'Functions'],
  ['constant', 'Constants'],
  ['namespace', 'Namespaces'],
];

/** One documented export: a symbol under its exported name, with the declarations of one kind. */
interface Item {
  readonly kind: Kind;
  readonly name: string;
  readonly symbol: ts.Symbol;
  readonly decls: ts.Declaration[];
  readonly typeOnly: boolean;
  readonly key: string;
}

/** A public member of a class or interface, as listed in its tables. */
interface Member {
  readonly name: string;
  readonly symbol: ts.Symbol;
  readonly decl: ts.Declaration;
  readonly decls: ts.Declaration[];
  readonly isMethod: boolean;
  readonly isStatic: boolean;
  /** Declaring class or interface when it is not the documented one. */
  readonly inheritedFrom?: ts.Symbol;
}

interface Api {
  readonly rootDir: string;
  readonly program: ts.Program;
  readonly checker: ts.TypeChecker;
  readonly items: Item[];
  readonly bySymbol: Map<ts.Symbol, Item[]>;
  readonly byName: Map<string, Item[]>;
}

const TYPE_FLAGS = ts.TypeFormatFlags.NoTruncation | ts.TypeFormatFlags.UseAliasDefinedOutsideCurrentScope;

// ---------------------------------------------------------------------------
// Program and exports

function createProgram(rootDir: string): ts.Program {
  let options: ts.CompilerOptions = {
    target: ts.ScriptTarget.ES2020,
    module: ts.ModuleKind.CommonJS,
    moduleResolution: ts.ModuleResolutionKind.Node10,
    strict: true,
    esModuleInterop: true,
  };
  const configPath = join(rootDir, 'tsconfig.json');
  if (existsSync(configPath)) {
    const { config, error } = ts.readConfigFile(configPath, ts.sys.readFile);
    if (error) throw new Error(ts.flattenDiagnosticMessageText(error.messageText, '\n'));
    options = ts.parseJsonConfigFileContent(config, ts.sys, rootDir, undefined, configPath).options;
  }
  // One program for lib/index.ts and what it imports; nothing is emitted or fully checked.
  options = { ...options, noEmit: true, incremental: false, composite: false, declaration: false, skipLibCheck: true, types: [] };
  delete options.tsBuildInfoFile;
  return ts.createProgram({ rootNames: [join(rootDir, 'lib', 'index.ts')], options });
}

function resolveAlias(checker: ts.TypeChecker, symbol: ts.Symbol): ts.Symbol {
  return symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol;
}

function hasModifier(node: ts.Node, kind: ts.SyntaxKind): boolean {
  return ts.canHaveModifiers(node) && (ts.getModifiers(node) ?? []).some((m) => m.kind === kind);
}

interface ExportRef {
  readonly name: string;
  readonly symbol: ts.Symbol;
  readonly typeOnly: boolean;
}

/** The exports of a module in statement order, following re-exports into the modules they name. */
function collectExports(checker: ts.TypeChecker, sf: ts.SourceFile, typeOnly: boolean, visiting: Set<ts.SourceFile>): ExportRef[] {
  if (visiting.has(sf)) return [];
  visiting.add(sf);
  const out: ExportRef[] = [];
  const push = (name: string, symbol: ts.Symbol | undefined, only: boolean) => {
    if (symbol) out.push({ name, symbol: resolveAlias(checker, symbol), typeOnly: only });
  };
  for (const st of sf.statements) {
    if (ts.isExportDeclaration(st)) {
      const only = typeOnly || st.isTypeOnly;
      if (!st.exportClause) {
        const mod = st.moduleSpecifier && checker.getSymbolAtLocation(st.moduleSpecifier);
        if (!mod) continue;
        const target = mod.declarations?.find(ts.isSourceFile);
        const refs = target
          ? collectExports(checker, target, only, visiting)
          : checker
              .getExportsOfModule(mod)
              .sort((a, b) => compare(a.name, b.name))
              .map((s) => ({ name: s.name, symbol: resolveAlias(checker, s), typeOnly: only }));
        out.push(...refs.filter((r) => r.name !== 'default'));
      } else if (ts.isNamespaceExport(st.exportClause)) {
        push(st.exportClause.name.text, checker.getSymbolAtLocation(st.exportClause.name), only);
      } else {
        for (const spec of st.exportClause.elements) {
          push(spec.name.text, checker.getSymbolAtLocation(spec.name), only || spec.isTypeOnly);
        }
      }
    } else if (hasModifier(st, ts.SyntaxKind.ExportKeyword) && !hasModifier(st, ts.SyntaxKind.DefaultKeyword)) {
      if (ts.isVariableStatement(st)) {
        for (const d of st.declarationList.declarations) {
          if (ts.isIdentifier(d.name)) push(d.name.text, checker.getSymbolAtLocation(d.name), typeOnly);
        }
      } else if (
        (ts.isClassDeclaration(st) ||
          ts.isFunctionDeclaration(st) ||
          ts.isInterfaceDeclaration(st) ||
          ts.isTypeAliasDeclaration(st) ||
          ts.isEnumDeclaration(st) ||
          ts.isModuleDeclaration(st)) &&
        st.name &&
        ts.isIdentifier(st.name)
      ) {
        push(st.name.text, checker.getSymbolAtLocation(st.name), typeOnly);
      }
    }
  }
  visiting.delete(sf);
  return out;
}

function isExternal(node: ts.Node): boolean {
  return node.getSourceFile().fileName.includes('/node_modules/');
}

/** A class or interface type, or the generic one that a reference such as `Base<T>` instantiates. */
function classOrInterface(type: ts.Type): ts.InterfaceType | undefined {
  if (!(type.flags & ts.TypeFlags.Object)) return undefined;
  const flags = (type as ts.ObjectType).objectFlags;
  if (flags & ts.ObjectFlags.ClassOrInterface) return type as ts.InterfaceType;
  if (flags & ts.ObjectFlags.Reference) return classOrInterface((type as ts.TypeReference).target);
  return undefined;
}

function extendsConstruct(checker: ts.TypeChecker, type: ts.Type, seen = new Set<ts.Type>()): boolean {
  if (seen.has(type)) return false;
  seen.add(type);
  const t = classOrInterface(type);
  if (!t) return false;
  for (const base of checker.getBaseTypes(t)) {
    const decl = base.symbol?.declarations?.[0];
    if (base.symbol?.name === 'Construct' && decl && decl.getSourceFile().fileName.includes('/node_modules/constructs/')) return true;
    if (extendsConstruct(checker, base, seen)) return true;
  }
  return false;
}

function isInternal(node: ts.Node): boolean {
  return ts.getJSDocTags(node).some((t) => t.tagName.text === 'internal');
}

function loadApi(rootDir: string): Api {
  const root = resolve(rootDir);
  const program = createProgram(root);
  const checker = program.getTypeChecker();
  const index = program.getSourceFile(join(root, 'lib', 'index.ts'));
  if (!index) throw new Error(`lib/index.ts not found under ${root}`);
  const indexSymbol = checker.getSymbolAtLocation(index);
  // What TypeScript itself considers exported (ambiguous `export *` names drop out).
  const exported = new Set((indexSymbol ? checker.getExportsOfModule(indexSymbol) : []).map((s) => s.name));
  const refs: ExportRef[] = [];
  const seenNames = new Set<string>();
  for (const ref of collectExports(checker, index, false, new Set())) {
    if (!exported.has(ref.name) || seenNames.has(ref.name)) continue;
    seenNames.add(ref.name);
    refs.push(ref);
  }
  for (const s of indexSymbol ? checker.getExportsOfModule(indexSymbol) : []) {
    if (!seenNames.has(s.name) && s.name !== 'default') refs.push({ name: s.name, symbol: resolveAlias(checker, s), typeOnly: false });
  }

  const items: Item[] = [];
  for (const ref of refs) {
    const byKind = new Map<Kind, ts.Declaration[]>();
    const add = (k: Kind, d: ts.Declaration) => byKind.set(k, [...(byKind.get(k) ?? []), d]);
    const decls = (ref.symbol.declarations ?? []).filter((d) => !isInternal(d));
    const hasClass = decls.some(ts.isClassDeclaration);
    for (const d of decls) {
      if (ts.isClassDeclaration(d)) {
        add(extendsConstruct(checker, checker.getDeclaredTypeOfSymbol(ref.symbol)) ? 'construct' : 'class', d);
      } else if (ts.isInterfaceDeclaration(d)) {
        if (!hasClass) add('struct', d);
      } else if (ts.isEnumDeclaration(d)) add('enum', d);
      else if (ts.isTypeAliasDeclaration(d)) add('type', d);
      else if (ts.isFunctionDeclaration(d)) add('function', d);
      else if (ts.isVariableDeclaration(d)) add('constant', d);
      else if (ts.isModuleDeclaration(d) || ts.isSourceFile(d)) add('namespace', d);
    }
    const ifaces = byKind.get('struct');
    if (ifaces && ifaces.some((d) => (d as ts.InterfaceDeclaration).members.some((m) => !ts.isPropertySignature(m)))) {
      byKind.delete('struct');
      byKind.set('interface', ifaces);
    }
    for (const [kind, ds] of byKind) {
      items.push({ kind, name: ref.name, symbol: ref.symbol, decls: ds, typeOnly: ref.typeOnly, key: `${kind}:${ref.name}` });
    }
  }
  const bySymbol = new Map<ts.Symbol, Item[]>();
  const byName = new Map<string, Item[]>();
  for (const item of items) {
    bySymbol.set(item.symbol, [...(bySymbol.get(item.symbol) ?? []), item]);
    byName.set(item.name, [...(byName.get(item.name) ?? []), item]);
  }
  return { rootDir: root, program, checker, items, bySymbol, byName };
}

// ---------------------------------------------------------------------------
// Members

function declaredType(api: Api, item: Item): ts.Type {
  return api.checker.getDeclaredTypeOfSymbol(item.symbol);
}

/** The type and its base types, depth first, each once. */
function heritage(api: Api, type: ts.Type, out: ts.Type[] = []): ts.Type[] {
  if (out.includes(type)) return out;
  out.push(type);
  const t = classOrInterface(type);
  if (t) for (const base of api.checker.getBaseTypes(t)) heritage(api, base, out);
  return out;
}

function isPublicMember(decl: ts.Declaration): boolean {
  const name = ts.getNameOfDeclaration(decl);
  if (name && ts.isPrivateIdentifier(name)) return false;
  if (ts.getCombinedModifierFlags(decl) & (ts.ModifierFlags.Private | ts.ModifierFlags.Protected)) return false;
  return !isInternal(decl);
}

const MEMBER_KINDS = new Set([
  ts.SyntaxKind.PropertyDeclaration,
  ts.SyntaxKind.PropertySignature,
  ts.SyntaxKind.Parameter,
  ts.SyntaxKind.GetAccessor,
  ts.SyntaxKind.SetAccessor,
  ts.SyntaxKind.MethodDeclaration,
  ts.SyntaxKind.MethodSignature,
]);

/**
 * Public members in declaration order: the item's own first, then those of
 * its bases. Classes leave out members declared outside this package.
 */
function membersOf(api: Api, item: Item): Member[] {
  const isClass = item.kind === 'construct' || item.kind === 'class';
  const chains: { type: ts.Type; isStatic: boolean }[] = [];
  const instance = declaredType(api, item);
  const owners = heritage(api, instance);
  chains.push({ type: instance, isStatic: false });
  if (isClass) chains.push({ type: api.checker.getTypeOfSymbol(item.symbol), isStatic: true });
  const ownerIndex = (decl: ts.Declaration): number => {
    const parent = decl.kind === ts.SyntaxKind.Parameter ? decl.parent.parent : decl.parent;
    const i = owners.findIndex((t) => t.symbol?.declarations?.includes(parent as ts.Declaration));
    return i < 0 ? owners.length : i;
  };
  const out: Member[] = [];
  for (const { type, isStatic } of chains) {
    const props = api.checker.getPropertiesOfType(type).filter((p) => p.getName() !== 'prototype');
    const rows = props.flatMap((symbol) => {
      const decls = (symbol.declarations ?? []).filter((d) => MEMBER_KINDS.has(d.kind));
      const decl = decls[0];
      if (!decl || symbol.getName().startsWith('_') || !decls.every(isPublicMember)) return [];
      if (isClass && isExternal(decl)) return [];
      const owner = ownerIndex(decl);
      const ownerSymbol = owner < owners.length ? owners[owner].symbol : undefined;
      const isMethod = ts.isMethodDeclaration(decl) || ts.isMethodSignature(decl);
      const inheritedFrom = owner > 0 && ownerSymbol && ownerSymbol !== item.symbol ? ownerSymbol : undefined;
      return [{ member: { name: symbol.getName(), symbol, decl, decls, isMethod, isStatic, inheritedFrom }, owner }];
    });
    rows.sort((a, b) => a.owner - b.owner || compareNodes(a.member.decl, b.member.decl));
    out.push(...rows.map((r) => r.member));
  }
  return out;
}

function compareNodes(a: ts.Node, b: ts.Node): number {
  return compare(a.getSourceFile().fileName, b.getSourceFile().fileName) || a.pos - b.pos;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

// ---------------------------------------------------------------------------
// Doc comments

interface Doc {
  readonly comment: string | ts.NodeArray<ts.JSDocComment> | undefined;
  readonly tags: readonly ts.JSDocTag[];
}

/** The doc comment closest to a declaration (a file's header comment before it does not count). */
function docOf(decl: ts.Node): Doc {
  if (ts.isParameter(decl)) {
    const own = ts.getJSDocCommentsAndTags(decl).filter(ts.isJSDoc);
    if (own.length) return { comment: own[own.length - 1].comment, tags: own[own.length - 1].tags ?? [] };
    const tag = ts.getJSDocParameterTags(decl)[0];
    return { comment: tag?.comment, tags: [] };
  }
  const docs = ts.getJSDocCommentsAndTags(decl).filter(ts.isJSDoc);
  const doc = docs[docs.length - 1];
  return { comment: doc?.comment, tags: doc?.tags ?? [] };
}

function commentText(comment: Doc['comment']): string {
  return (ts.getTextOfJSDocComment(comment) ?? '').trim();
}

function hasSummary(doc: Doc): boolean {
  return commentText(doc.comment).length > 0;
}

/** The doc of the first declaration that has one. */
function itemDoc(decls: readonly ts.Node[]): Doc {
  for (const d of decls) {
    const doc = docOf(d);
    if (hasSummary(doc) || doc.tags.length) return doc;
  }
  return { comment: undefined, tags: [] };
}

/** A member's doc, or the doc of the member it overrides or implements. */
function memberDoc(api: Api, m: Member, owner: Item): Doc {
  const own = itemDoc(m.decls);
  if (hasSummary(own) && !own.tags.some((t) => t.tagName.text === 'inheritDoc')) return own;
  const types = heritage(api, declaredType(api, owner)).slice(1);
  for (const d of owner.decls) {
    if (ts.isClassDeclaration(d)) {
      for (const clause of d.heritageClauses ?? []) {
        if (clause.token === ts.SyntaxKind.ImplementsKeyword) {
          for (const t of clause.types) types.push(api.checker.getTypeAtLocation(t));
        }
      }
    }
  }
  for (const t of types) {
    const base = api.checker.getPropertyOfType(t, m.name);
    if (!base || base === m.symbol) continue;
    const doc = itemDoc(base.declarations ?? []);
    if (hasSummary(doc)) return doc;
  }
  return own;
}

// ---------------------------------------------------------------------------
// Markdown

/** GitHub's heading anchors (github-slugger), with its -1, -2 suffixes for repeats. */
class Slugger {
  private readonly seen = new Map<string, number>();
  slug(heading: string): string {
    const base = heading
      .toLowerCase()
      .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '')
      .replace(/ /g, '-');
    let slug = base;
    let n = this.seen.get(base) ?? 0;
    while (this.seen.has(slug)) slug = `${base}-${++n}`;
    this.seen.set(base, n);
    this.seen.set(slug, 0);
    return slug;
  }
}

function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/\|/g, '&#124;');
}

/** Collapses line breaks and indentation of source text to single spaces. */
function oneLine(s: string): string {
  return s.replace(/\s*\n\s*/g, ' ').trim();
}

/** Markdown for a table cell: paragraphs become <br><br>, pipes are escaped. */
function cell(md: string): string {
  return md
    .trim()
    .replace(/\n\s*\n/g, '<br><br>')
    .replace(/\s*\n\s*/g, ' ')
    .replace(/\|/g, '\\|');
}

class Renderer {
  private readonly lines: string[] = [];
  private slugger = new Slugger();
  /** Anchor per heading key, from the first pass, so that links may point forward. */
  private anchors = new Map<string, string>();
  private readonly nextAnchors = new Map<string, string>();
  /** Method symbol -> key of its heading. */
  private readonly memberKeys = new Map<ts.Symbol, string>();
  /** Project types that documented signatures name but lib/index.ts does not export. */
  readonly unexported = new Map<string, Set<string>>();
  private context = '';

  constructor(private readonly api: Api) {}

  render(): string {
    // Pass 1 assigns every heading's anchor; pass 2 renders with links to all of them.
    this.renderAll();
    this.anchors = new Map(this.nextAnchors);
    this.lines.length = 0;
    this.nextAnchors.clear();
    this.unexported.clear();
    this.slugger = new Slugger();
    this.renderAll();
    return (
      this.lines
        .join('\n')
        .replace(/\n{3,}/g, '\n\n')
        .trim() + '\n'
    );
  }

  private out(...lines: string[]): void {
    this.lines.push(...lines);
  }

  private heading(level: number, text: string, key?: string): void {
    const slug = this.slugger.slug(text);
    if (key) this.nextAnchors.set(key, slug);
    this.out('', `${'#'.repeat(level)} ${text}`, '');
  }

  private anchor(key: string): string | undefined {
    return this.anchors.get(key);
  }

  private rel(node: ts.Node): string {
    return relative(this.api.rootDir, node.getSourceFile().fileName).split(sep).join('/');
  }

  private renderAll(): void {
    const sections = SECTIONS.map(([kind, title]) => ({ kind, title, items: this.api.items.filter((i) => i.kind === kind) })).filter(
      (s) => s.items.length
    );
    this.heading(1, 'API Reference');
    this.out('<!-- Generated by `npm run docs:api` (bin/api-md.ts) from the TSDoc comments of what lib/index.ts exports. Do not edit. -->');
    this.heading(2, 'Table of contents', 'toc');
    for (const s of sections) {
      this.out(`- ${this.link(s.title, `section:${s.kind}`)}`);
      for (const item of s.items) this.out(`  - ${this.link('`' + item.name + '`', item.key)}`);
    }
    for (const s of sections) {
      this.heading(2, s.title, `section:${s.kind}`);
      for (const item of s.items) this.renderItem(item);
    }
  }

  private link(text: string, key: string): string {
    const a = this.anchor(key);
    return a ? `[${text}](#${a})` : text;
  }

  private renderItem(item: Item): void {
    this.context = item.name;
    this.heading(3, item.name, item.key);
    const doc = itemDoc(item.decls);
    this.out(this.docBody(doc), '');
    if (item.typeOnly) {
      this.out('> Exported as a type only (`export type`): it can name types but is not a value at runtime.', '');
    }
    switch (item.kind) {
      case 'construct':
      case 'class':
        return this.renderClass(item);
      case 'struct':
      case 'interface':
        return this.renderInterface(item);
      case 'enum':
        return this.renderEnum(item);
      case 'type':
        return this.renderTypeAlias(item);
      case 'function':
        return this.renderFunction(item);
      case 'constant':
        return this.renderConstant(item);
      case 'namespace':
        return this.renderNamespace(item);
    }
  }

  // --- meta lines

  private meta(item: Item, extra: string[]): void {
    const lines = [...extra, `- **Source:** \`${this.rel(item.decls[0])}\``];
    this.out(...lines, '');
  }

  private subtypes(item: Item): string[] {
    const subs = this.api.items.filter(
      (other) => other !== item && other.kind === item.kind && baseTypes(this.api, other).some((b) => b.symbol === item.symbol)
    );
    return subs.length ? [`- **Extended by:** ${subs.map((s) => this.link('`' + s.name + '`', s.key)).join(', ')}`] : [];
  }

  private heritageLines(item: Item): string[] {
    const out: string[] = [];
    for (const d of item.decls) {
      if (!ts.isClassDeclaration(d) && !ts.isInterfaceDeclaration(d)) continue;
      for (const clause of d.heritageClauses ?? []) {
        const label = clause.token === ts.SyntaxKind.ExtendsKeyword ? 'Extends' : 'Implements';
        const types = clause.types.map((t) => this.typeHtml(t)).join(', ');
        let note = '';
        if (ts.isClassDeclaration(d) && label === 'Extends') {
          const external = clause.types.filter((t) => {
            const s = this.api.checker.getTypeAtLocation(t).symbol;
            return s?.declarations?.some(isExternal);
          });
          if (external.length) note = ' (its members are not listed here)';
        }
        out.push(`- **${label}:** ${types}${note}`);
      }
    }
    return out;
  }

  // --- classes

  private renderClass(item: Item): void {
    const decl = item.decls[0] as ts.ClassDeclaration;
    this.codeBlock(this.declarationHeader(item));
    this.meta(item, [...this.heritageLines(item), ...this.subtypes(item)]);

    this.heading(4, 'Initializer', `${item.key}:init`);
    const ctors = this.constructorsOf(item);
    const isAbstract = hasModifier(decl, ts.SyntaxKind.AbstractKeyword);
    const ctorDecls = ctors.filter((c) => isPublicMember(c));
    if (isAbstract) {
      this.out('Abstract: create one of the classes that extend it.', '');
    } else if (ctors.length && !ctorDecls.length) {
      this.out(
        ctors.some((c) => hasModifier(c, ts.SyntaxKind.ProtectedKeyword))
          ? 'The initializer is protected: create one of the classes that extend it.'
          : 'No public initializer: instances are created by this library.',
        ''
      );
    } else {
      const sigs = ctorDecls.length ? ctorDecls : [undefined];
      for (const c of sigs) {
        const params = c ? c.parameters : ts.factory.createNodeArray<ts.ParameterDeclaration>();
        this.codeBlock(`new ${item.name}${this.typeParams(decl)}(${this.paramsText(params)})`);
        if (c) {
          const cdoc = docOf(c);
          if (hasSummary(cdoc)) this.out(this.docBody(cdoc), '');
          this.paramsTable(params);
        }
      }
    }

    const members = membersOf(this.api, item);
    const props = members.filter((m) => !m.isMethod);
    const methods = members.filter((m) => m.isMethod);
    if (props.length) {
      this.heading(4, 'Properties', `${item.key}:props`);
      this.out('| Property | Modifiers | Type | Description |', '| --- | --- | --- | --- |');
      for (const m of props) {
        const doc = memberDoc(this.api, m, item);
        const mods = this.modifiers(m);
        const desc = [this.docBody(doc, { inline: true }), this.defaultSentence(doc), this.inheritedSentence(m)].filter(Boolean).join(' ');
        this.out(`| \`${m.name}\` | ${mods.join(', ')} | ${this.memberTypeHtml(m)} | ${cell(desc)} |`);
      }
      this.out('');
    }
    if (methods.length) {
      this.heading(4, 'Methods', `${item.key}:methods`);
      for (const m of methods) this.renderMethod(item, m);
    }
  }

  private constructorsOf(item: Item): ts.ConstructorDeclaration[] {
    // Own constructors, else the nearest base class's (what `new` calls).
    for (const t of heritage(this.api, declaredType(this.api, item))) {
      const decls = (t.symbol?.declarations ?? []).filter(ts.isClassDeclaration);
      const ctors = decls.flatMap((d) => d.members.filter(ts.isConstructorDeclaration));
      if (ctors.length) return ctors.length > 1 ? ctors.filter((c) => !c.body) : ctors;
    }
    return [];
  }

  private modifiers(m: Member): string[] {
    const mods: string[] = [];
    if (m.isStatic) mods.push('static');
    if (m.decls.some((d) => hasModifier(d, ts.SyntaxKind.AbstractKeyword))) mods.push('abstract');
    const getterOnly = m.decls.some(ts.isGetAccessor) && !m.decls.some(ts.isSetAccessor);
    if (getterOnly || m.decls.some((d) => hasModifier(d, ts.SyntaxKind.ReadonlyKeyword))) mods.push('readonly');
    if (m.symbol.flags & ts.SymbolFlags.Optional) mods.push('optional');
    return mods;
  }

  private inheritedSentence(m: Member): string {
    if (!m.inheritedFrom) return '';
    const owner = this.api.bySymbol.get(m.inheritedFrom)?.[0];
    const name = '`' + m.inheritedFrom.getName() + '`';
    return `*Inherited from ${owner ? this.link(name, owner.key) : name}.*`;
  }

  private renderMethod(item: Item, m: Member): void {
    const key = `${item.key}:method:${m.name}`;
    if (!this.memberKeys.has(m.symbol)) this.memberKeys.set(m.symbol, key);
    this.heading(5, `\`${item.name}.${m.name}()\``, key);
    const sigs = (m.decls as ts.SignatureDeclaration[]).filter((d) => ts.isMethodDeclaration(d) || ts.isMethodSignature(d));
    const overloads = sigs.length > 1 ? sigs.filter((d) => !(d as ts.MethodDeclaration).body) : sigs;
    const doc = memberDoc(this.api, m, item);
    const mods = this.modifiers(m).filter((x) => x !== 'readonly' && x !== 'optional');
    for (const sig of overloads) {
      this.codeBlock(`${[...mods, ''].join(' ')}${m.name}${m.symbol.flags & ts.SymbolFlags.Optional ? '?' : ''}${this.signatureText(sig)}`);
    }
    this.out(this.docBody(doc), '');
    const inherited = this.inheritedSentence(m);
    if (inherited) this.out(inherited, '');
    for (const sig of overloads) {
      this.paramsTable(sig.parameters);
      this.returns(sig, doc);
    }
  }

  // --- interfaces

  private renderInterface(item: Item): void {
    this.codeBlock(this.declarationHeader(item));
    this.meta(item, [...this.heritageLines(item), ...this.subtypes(item)]);
    const members = membersOf(this.api, item);
    const props = members.filter((m) => !m.isMethod);
    const methods = members.filter((m) => m.isMethod);
    const indexInfos = this.api.checker.getIndexInfosOfType(declaredType(this.api, item));
    if (props.length || indexInfos.length) {
      this.heading(4, 'Properties', `${item.key}:props`);
      this.out('| Property | Type | Required | Default | Description |', '| --- | --- | --- | --- | --- |');
      for (const info of indexInfos) {
        const d = info.declaration;
        const keyType = this.api.checker.typeToString(info.keyType, d, TYPE_FLAGS);
        const desc = d ? this.docBody(docOf(d), { inline: true }) : '';
        this.out(
          `| \`[key: ${keyType}]\` | ${d ? this.typeHtml(d.type) : this.code(this.typeString(info.type))} | optional |  | ${cell(desc)} |`
        );
      }
      for (const m of props) {
        const doc = memberDoc(this.api, m, item);
        const optional = m.symbol.flags & ts.SymbolFlags.Optional;
        const readonly = m.decls.some((d) => hasModifier(d, ts.SyntaxKind.ReadonlyKeyword));
        const desc = [this.docBody(doc, { inline: true }), this.inheritedSentence(m)].filter(Boolean).join(' ');
        const name = readonly || item.kind === 'struct' ? `\`${m.name}\`` : `\`${m.name}\` (mutable)`;
        this.out(
          `| ${name} | ${this.memberTypeHtml(m)} | ${optional ? 'optional' : '**required**'} | ${cell(this.defaultValue(doc))} | ${cell(
            desc
          )} |`
        );
      }
      this.out('');
    }
    if (methods.length) {
      this.heading(4, 'Methods', `${item.key}:methods`);
      for (const m of methods) this.renderMethod(item, m);
    }
  }

  // --- enums, types, functions, constants

  private renderEnum(item: Item): void {
    this.meta(item, []);
    this.out('| Member | Value | Description |', '| --- | --- | --- |');
    for (const d of item.decls as ts.EnumDeclaration[]) {
      for (const m of d.members) {
        if (isInternal(m)) continue;
        const value = m.initializer ? m.initializer.getText() : JSON.stringify(this.api.checker.getConstantValue(m) ?? null);
        const doc = docOf(m);
        const desc = [this.docBody(doc, { inline: true })].join(' ');
        this.out(`| \`${m.name.getText()}\` | ${this.code(oneLine(value))} | ${cell(desc)} |`);
      }
    }
    this.out('');
  }

  private renderTypeAlias(item: Item): void {
    for (const d of item.decls as ts.TypeAliasDeclaration[]) {
      this.codeBlock(`type ${item.name}${this.typeParams(d)} = ${this.sourceType(d.type)}`);
      // `typeof X[number]`, `keyof`, conditional and mapped types: also show what they come to.
      if (isComputedType(d.type)) {
        const t = this.api.checker.getTypeAtLocation(d);
        const text = oneLine(this.api.checker.typeToString(t, d, TYPE_FLAGS | ts.TypeFormatFlags.InTypeAlias));
        if (text !== this.sourceType(d.type)) this.out(`Resolves to: ${this.code(text)}`, '');
      }
    }
    this.meta(item, []);
  }

  private renderFunction(item: Item): void {
    const decls = item.decls as ts.FunctionDeclaration[];
    const sigs = decls.length > 1 ? decls.filter((d) => !d.body) : decls;
    for (const sig of sigs) this.codeBlock(`function ${item.name}${this.signatureText(sig)}`);
    this.meta(item, []);
    const doc = itemDoc(item.decls);
    for (const sig of sigs) {
      if (sigs.length > 1) {
        const sdoc = docOf(sig);
        if (hasSummary(sdoc) && sdoc !== doc) this.out(this.docBody(sdoc), '');
      }
      this.paramsTable(sig.parameters);
      this.returns(sig, docOf(sig));
    }
  }

  private renderConstant(item: Item): void {
    for (const d of item.decls as ts.VariableDeclaration[]) {
      const flags = d.parent.flags;
      const keyword = flags & ts.NodeFlags.Const ? 'const' : flags & ts.NodeFlags.Let ? 'let' : 'var';
      // The declaration as written; a long initializer gives way to the type it has.
      const init = d.initializer ? oneLine(d.initializer.getText()) : undefined;
      const showInit = init !== undefined && init.length <= 160;
      let text = `${keyword} ${item.name}`;
      if (d.type) text += `: ${this.sourceType(d.type)}`;
      else if (!showInit) text += `: ${this.typeString(this.api.checker.getTypeAtLocation(d), d)}`;
      if (showInit) text += ` = ${init}`;
      this.codeBlock(text);
      if (d.type) this.out(`Type: ${this.typeHtml(d.type)}`, '');
    }
    this.meta(item, []);
  }

  private renderNamespace(item: Item): void {
    this.meta(item, []);
    const exports = this.api.checker.getExportsOfModule(item.symbol).map((s) => '`' + s.getName() + '`');
    if (exports.length) this.out(`Exports: ${exports.join(', ')}`, '');
  }

  // --- signatures

  private declarationHeader(item: Item): string {
    const d = item.decls[0] as ts.ClassDeclaration | ts.InterfaceDeclaration;
    const parts: string[] = [];
    if (hasModifier(d, ts.SyntaxKind.AbstractKeyword)) parts.push('abstract');
    parts.push(ts.isClassDeclaration(d) ? 'class' : 'interface', `${item.name}${this.typeParams(d)}`);
    for (const clause of d.heritageClauses ?? []) {
      parts.push(
        clause.token === ts.SyntaxKind.ExtendsKeyword ? 'extends' : 'implements',
        clause.types.map((t) => oneLine(t.getText())).join(', ')
      );
    }
    return parts.join(' ');
  }

  private typeParams(d: ts.DeclarationWithTypeParameterChildren | ts.ClassDeclaration | ts.InterfaceDeclaration): string {
    const tps = d.typeParameters;
    return tps && tps.length ? `<${tps.map((t) => oneLine(t.getText())).join(', ')}>` : '';
  }

  private paramsText(params: ts.NodeArray<ts.ParameterDeclaration>): string {
    return params.map((p) => this.paramText(p)).join(', ');
  }

  private paramText(p: ts.ParameterDeclaration): string {
    const optional = p.questionToken || p.initializer ? '?' : '';
    const type = p.type ? this.sourceType(p.type) : this.typeString(this.api.checker.getTypeAtLocation(p), p);
    return `${p.dotDotDotToken ? '...' : ''}${oneLine(p.name.getText())}${optional}: ${type}`;
  }

  private signatureText(sig: ts.SignatureDeclaration): string {
    return `${this.typeParams(sig)}(${this.paramsText(sig.parameters)}): ${this.returnTypeText(sig)}`;
  }

  private returnTypeText(sig: ts.SignatureDeclaration): string {
    if (sig.type) return this.sourceType(sig.type);
    const s = this.api.checker.getSignatureFromDeclaration(sig);
    return s ? this.typeString(this.api.checker.getReturnTypeOfSignature(s), sig) : 'void';
  }

  private paramsTable(params: ts.NodeArray<ts.ParameterDeclaration>): void {
    if (!params.length) return;
    this.out('| Parameter | Type | Description |', '| --- | --- | --- |');
    for (const p of params) {
      const doc = docOf(p);
      let desc = this.docBody(doc, { inline: true });
      if (p.initializer) desc += `${desc ? ' ' : ''}*Default:* ${this.code(oneLine(p.initializer.getText()))}`;
      const type = p.type ? this.typeHtml(p.type) : this.code(this.typeString(this.api.checker.getTypeAtLocation(p), p));
      const optional = p.questionToken || p.initializer ? '?' : '';
      this.out(`| \`${p.dotDotDotToken ? '...' : ''}${oneLine(p.name.getText())}${optional}\` | ${type} | ${cell(desc)} |`);
    }
    this.out('');
  }

  private returns(sig: ts.SignatureDeclaration, doc: Doc): void {
    const text = this.returnTypeText(sig);
    const tag = doc.tags.find((t) => t.tagName.text === 'returns' || t.tagName.text === 'return');
    if (text === 'void' && !tag) return;
    const type = sig.type ? this.typeHtml(sig.type) : this.code(text);
    const desc = tag ? ' ' + this.comment(tag.comment) : '';
    this.out(`Returns: ${type}${desc}`, '');
  }

  // --- types

  private typeString(type: ts.Type, enclosing?: ts.Node): string {
    // Never an absolute path: import("/abs/path").X becomes X.
    return oneLine(this.api.checker.typeToString(type, enclosing, TYPE_FLAGS)).replace(/import\("[^"]*"\)\./g, '');
  }

  private sourceType(node: ts.Node): string {
    return oneLine(node.getText());
  }

  private memberTypeText(m: Member): ts.TypeNode | undefined {
    for (const d of m.decls) {
      if (ts.isGetAccessor(d) && d.type) return d.type;
      if (ts.isSetAccessor(d) && d.parameters[0]?.type) return d.parameters[0].type;
      if ((ts.isPropertyDeclaration(d) || ts.isPropertySignature(d) || ts.isParameter(d)) && d.type) return d.type;
    }
    return undefined;
  }

  private memberTypeHtml(m: Member): string {
    const node = this.memberTypeText(m);
    if (node) return this.typeHtml(node);
    return this.code(this.typeString(this.api.checker.getTypeOfSymbolAtLocation(m.symbol, m.decl), m.decl));
  }

  private code(text: string): string {
    return `<code>${escapeHtml(text)}</code>`;
  }

  /** Source text of a type as HTML code, with the names of documented exports as links. */
  private typeHtml(node: ts.Node | undefined): string {
    if (!node) return '';
    const start = node.getStart();
    const text = node.getText();
    const links: { from: number; to: number; href: string; label: string }[] = [];
    const visit = (n: ts.Node): void => {
      let id: ts.Node | undefined;
      if (ts.isTypeReferenceNode(n)) id = n.typeName;
      else if (ts.isExpressionWithTypeArguments(n)) id = n.expression;
      else if (ts.isTypeQueryNode(n)) id = n.exprName;
      if (id) {
        const target = this.resolveSymbol(id);
        const item = target && this.itemFor(target);
        if (item && this.anchor(item.key)) {
          links.push({ from: id.getStart() - start, to: id.getEnd() - start, href: this.anchor(item.key)!, label: item.name });
        } else if (target) {
          this.noteUnexported(target);
        }
      }
      n.forEachChild(visit);
    };
    visit(node);
    links.sort((a, b) => a.from - b.from);
    let html = '';
    let at = 0;
    for (const l of links) {
      if (l.from < at) continue;
      html += escapeHtml(text.slice(at, l.from).replace(/\s*\n\s*/g, ' '));
      html += `<a href="#${l.href}">${escapeHtml(l.label)}</a>`;
      at = l.to;
    }
    html += escapeHtml(text.slice(at).replace(/\s*\n\s*/g, ' '));
    return `<code>${html.trim()}</code>`;
  }

  private resolveSymbol(node: ts.Node): ts.Symbol | undefined {
    let s: ts.Symbol | undefined;
    try {
      s = this.api.checker.getSymbolAtLocation(node);
    } catch {
      return undefined;
    }
    return s && resolveAlias(this.api.checker, s);
  }

  private itemFor(symbol: ts.Symbol): Item | undefined {
    return this.api.bySymbol.get(symbol)?.[0];
  }

  private noteUnexported(symbol: ts.Symbol): void {
    const decl = symbol.declarations?.[0];
    if (!decl || isExternal(decl) || decl.getSourceFile().isDeclarationFile) return;
    if (!(symbol.flags & (ts.SymbolFlags.Type | ts.SymbolFlags.Value))) return;
    if (symbol.flags & ts.SymbolFlags.TypeParameter) return;
    const name = `${symbol.getName()} (${this.rel(decl)})`;
    this.unexported.set(name, new Set([...(this.unexported.get(name) ?? []), this.context]));
  }

  // --- doc comments

  /** A doc comment's text with its tags: @see, @deprecated, @example and others. */
  private docBody(doc: Doc, opts: { inline?: boolean } = {}): string {
    const parts: string[] = [];
    const text = this.comment(doc.comment);
    if (text) parts.push(text);
    for (const tag of doc.tags) {
      const name = tag.tagName.text;
      if (['default', 'param', 'returns', 'return', 'internal', 'inheritDoc', 'typeParam'].includes(name)) continue;
      if (name === 'see') parts.push(`*See:* ${this.seeTag(tag as ts.JSDocSeeTag)}`);
      else if (name === 'deprecated') parts.push(`**Deprecated:** ${this.comment(tag.comment)}`.trim());
      else if (name === 'remarks') parts.push(this.comment(tag.comment));
      else if (name === 'throws') parts.push(`*Throws:* ${this.comment(tag.comment)}`);
      else if (name === 'example') {
        const ex = ts.getTextOfJSDocComment(tag.comment)?.trim() ?? '';
        parts.push(opts.inline ? `*Example:* \`${oneLine(ex)}\`` : ex.includes('```') ? ex : '```ts\n' + ex + '\n```');
      } else parts.push(`*@${name}* ${this.comment(tag.comment)}`.trim());
    }
    return parts.join(opts.inline ? ' ' : '\n\n');
  }

  private seeTag(tag: ts.JSDocSeeTag): string {
    // TypeScript keeps the next line's leading `*` when @see is followed by another tag.
    const rest = this.comment(tag.comment).replace(/\s*\*$/, '');
    const name = tag.name ? tag.name.name.getText() : '';
    const url = /^(https?:\/\/\S+)\s*(.*)$/s.exec(`${name}${rest}`);
    if (name && url) return url[2] ? `[${url[2]}](${url[1]})` : `<${url[1]}>`;
    const ref = tag.name ? this.linkTo(name, tag.name.name, '') : '';
    return [ref, rest].filter(Boolean).join(' ');
  }

  private defaultValue(doc: Doc): string {
    const tag = doc.tags.find((t) => t.tagName.text === 'default');
    if (!tag) return '';
    const raw = (ts.getTextOfJSDocComment(tag.comment) ?? '').trim();
    if (raw.startsWith('-')) return this.comment(raw.replace(/^-\s*/, ''));
    const m = /^(\S+)\s+(\(.*\))$/s.exec(raw);
    if (m) return `\`${m[1]}\` ${this.comment(m[2])}`;
    return raw ? '`' + raw + '`' : '';
  }

  private defaultSentence(doc: Doc): string {
    const v = this.defaultValue(doc);
    return v ? `*Default:* ${v}` : '';
  }

  /** Comment text as markdown: `<` outside code is escaped, `{@link X}` becomes a link or code. */
  private comment(comment: Doc['comment']): string {
    if (comment === undefined) return '';
    const parts = typeof comment === 'string' ? [comment] : comment;
    let out = '';
    let inCode = false;
    for (const part of parts) {
      if (typeof part === 'string' || part.kind === ts.SyntaxKind.JSDocText) {
        const text = typeof part === 'string' ? part : part.text;
        for (const ch of text) {
          if (ch === '`') inCode = !inCode;
          out += !inCode && ch === '<' ? '&lt;' : !inCode && ch === '>' ? '&gt;' : ch;
        }
      } else {
        out += this.jsdocLink(part as ts.JSDocLink | ts.JSDocLinkCode | ts.JSDocLinkPlain);
      }
    }
    return out.trim();
  }

  private jsdocLink(link: ts.JSDocLink | ts.JSDocLinkCode | ts.JSDocLinkPlain): string {
    const nameText = link.name ? link.name.getText() : '';
    const rest = link.text.replace(/^\s*\|?\s*/, '').trim();
    const full = `${nameText}${link.text}`.trim();
    const url = /^(https?:\/\/\S+)\s*\|?\s*(.*)$/.exec(full);
    if (url) return `[${url[2] || url[1]}](${url[1]})`;
    const plain = link.kind === ts.SyntaxKind.JSDocLinkPlain;
    return this.linkTo(nameText, link.name, rest, plain);
  }

  /** A link to a documented export or method by name, else the name as code. */
  private linkTo(name: string, node: ts.Node | undefined, label: string, plain = false): string {
    let text = label || (plain ? name : '`' + name.replace(/#/g, '.') + '`');
    let key: string | undefined;
    const symbol = node && this.resolveSymbol(node);
    const item = symbol && this.itemFor(symbol);
    if (symbol) key = this.memberKeys.get(symbol) ?? item?.key;
    // A symbol exported under another name is shown by that name.
    if (item && !label && !/[.#]/.test(name)) text = plain ? item.name : '`' + item.name + '`';
    if (!key) {
      const [head, ...tail] = name.split(/[.#]/);
      const item = this.api.byName.get(head)?.[0];
      if (item)
        key = tail.length
          ? this.anchor(`${item.key}:method:${tail.join('.')}`)
            ? `${item.key}:method:${tail.join('.')}`
            : item.key
          : item.key;
    }
    const anchor = key && this.anchor(key);
    return anchor ? `[${text}](#${anchor})` : label ? `${label} (\`${name}\`)` : text;
  }

  private codeBlock(text: string): void {
    this.out('```ts', text, '```', '');
  }
}

function isComputedType(node: ts.Node): boolean {
  if (
    ts.isTypeQueryNode(node) ||
    ts.isIndexedAccessTypeNode(node) ||
    ts.isConditionalTypeNode(node) ||
    ts.isMappedTypeNode(node) ||
    (ts.isTypeOperatorNode(node) && node.operator === ts.SyntaxKind.KeyOfKeyword)
  ) {
    return true;
  }
  return ts.forEachChild(node, isComputedType) ?? false;
}

/** Direct base types of a class or interface. */
function baseTypes(api: Api, item: Item): ts.Type[] {
  const t = declaredType(api, item);
  const c = classOrInterface(t);
  return c ? api.checker.getBaseTypes(c) : [];
}

// ---------------------------------------------------------------------------
// Public functions

/** API.md for the package at rootDir, as `npm run docs:api` writes it. */
export function renderApiMarkdown(rootDir: string): string {
  return new Renderer(loadApi(rootDir)).render();
}

/**
 * What lacks a doc comment: exported symbols, members of exported enums and
 * classes, and properties of exported `...Props` and `...Options`
 * interfaces. Each entry names the symbol and where it is declared.
 */
export function findUndocumented(rootDir: string): string[] {
  const api = loadApi(rootDir);
  const out = new Set<string>();
  const where = (node: ts.Node) => {
    const sf = node.getSourceFile();
    const { line } = sf.getLineAndCharacterOfPosition(node.getStart());
    return `${relative(api.rootDir, sf.fileName).split(sep).join('/')}:${line + 1}`;
  };
  for (const item of api.items) {
    if (!hasSummary(itemDoc(item.decls))) out.add(`${item.name} (${where(item.decls[0])})`);
    if (item.kind === 'enum') {
      for (const d of item.decls as ts.EnumDeclaration[]) {
        for (const m of d.members) {
          if (!isInternal(m) && !hasSummary(docOf(m))) out.add(`${item.name}.${m.name.getText()} (${where(m)})`);
        }
      }
    }
    const checkMembers = item.kind === 'construct' || item.kind === 'class' || /(Props|Options)$/.test(item.name);
    if (!checkMembers || !['construct', 'class', 'struct', 'interface'].includes(item.kind)) continue;
    for (const m of membersOf(api, item)) {
      if (isExternal(m.decl)) continue;
      if (!hasSummary(memberDoc(api, m, item))) out.add(`${(m.inheritedFrom ?? item.symbol).getName()}.${m.name} (${where(m.decl)})`);
    }
  }
  return [...out];
}

/** Project types that documented signatures name although lib/index.ts does not export them. */
export function findUnexportedReferences(rootDir: string): string[] {
  const r = new Renderer(loadApi(rootDir));
  r.render();
  return [...r.unexported].map(([name, users]) => `${name}, used by ${[...users].join(', ')}`);
}

function main(argv: string[]): number {
  const started = Date.now();
  const root = resolve(__dirname, '..');
  const api = loadApi(root);
  const renderer = new Renderer(api);
  const markdown = renderer.render();
  const file = join(root, 'API.md');
  const current = existsSync(file) ? readFileSync(file, 'utf8') : undefined;
  for (const [name, users] of renderer.unexported) {
    console.error(`note: ${name} is named by ${[...users].join(', ')} but not exported by lib/index.ts`);
  }
  if (argv.includes('--check')) {
    if (current === markdown) return 0;
    console.error('API.md is stale: run `npm run docs:api` and commit API.md');
    return 1;
  }
  if (current !== markdown) writeFileSync(file, markdown);
  console.log(`API.md: ${api.items.length} exports, ${current === markdown ? 'unchanged' : 'written'} (${Date.now() - started} ms)`);
  return 0;
}

if (require.main === module) process.exit(main(process.argv.slice(2)));
