#!/usr/bin/env node
// Writes infra-tests/schema/provider-schema.json: the schema of exactly the resource and data source
// types that terraform/ uses, taken from the prebuilt CDK for Terraform bindings of the providers
// terraform/versions.tf pins. ProviderSchemaTest checks terraform/ against that file, so `mvn verify`
// needs neither `terraform init` (which downloads providers) nor these packages.
//
// Where the schema comes from. Each npm package @cdktf/provider-<name> is generated from one provider
// release (its README names it) and holds
//   .jsii                   every config struct: property names, optional flags, documentation
//                           (the documented enum values, "Possible values: [...]", are read from it);
//   lib/<resource>/index.js the exact snake_case names, which of them are blocks, and the getters of
//                           every attribute Terraform can read, computed ones included.
// An attribute with a getter and no config property is computed-only: it may be referenced, never set.
//
// Usage (from anywhere; needs node >= 20, npm and the npm registry):
//   node infra-tests/schema/extract-provider-schema.mjs            # download the packages, write the file
//   node infra-tests/schema/extract-provider-schema.mjs --check    # exit 1 if the file is not current
//   node infra-tests/schema/extract-provider-schema.mjs --packages DIR   # use packages unpacked in DIR/<npm name>/package
// Rerun it after adding a resource or data type to terraform/ or changing a provider pin.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');
const out = path.join(here, 'provider-schema.json');

/** The provider local names terraform/versions.tf uses, each with the package generated from the pinned release. */
const PROVIDERS = {
  google: { source: 'hashicorp/google', version: '6.50.0', npm: '@cdktf/provider-google', npmVersion: '16.12.1' },
  'google-beta': { source: 'hashicorp/google-beta', version: '6.50.0', npm: '@cdktf/provider-google-beta', npmVersion: '16.12.1' },
  time: { source: 'hashicorp/time', version: '0.13.1', npm: '@cdktf/provider-time', npmVersion: '11.0.1' },
};
/** Meta-arguments and built-in types: not in any provider schema. */
const BUILT_IN_TYPES = new Set(['terraform_data', 'null_resource']);

function usedTypes() {
  const types = { resource: new Set(), data: new Set() };
  const dir = path.join(root, 'terraform');
  for (const f of fs.readdirSync(dir).filter((n) => n.endsWith('.tf')).sort()) {
    const text = fs.readFileSync(path.join(dir, f), 'utf8');
    for (const m of text.matchAll(/^\s*(resource|data)\s+"([A-Za-z0-9_]+)"\s+"[A-Za-z0-9_-]+"\s*\{/gm)) {
      if (!BUILT_IN_TYPES.has(m[2])) {
        types[m[1]].add(m[2]);
      }
    }
  }
  return types;
}

function unpack(name, work) {
  const p = PROVIDERS[name];
  const dir = path.join(work, p.npm.replace('/', '+'));
  fs.mkdirSync(dir, { recursive: true });
  const tgz = execFileSync('npm', ['pack', '--silent', `${p.npm}@${p.npmVersion}`], { cwd: dir, encoding: 'utf8' }).trim().split('\n').pop();
  execFileSync('tar', ['xzf', tgz], { cwd: dir });
  return path.join(dir, 'package');
}

/** One package: its assembly, and per Terraform type the module that defines it. */
function loadPackage(name, dir) {
  const p = PROVIDERS[name];
  const readme = fs.readFileSync(path.join(dir, 'README.md'), 'utf8');
  const stated = readme.match(/provider version ([0-9.]+)/);
  if (!stated || stated[1] !== p.version) {
    throw new Error(`${p.npm}@${p.npmVersion} is generated from ${p.source} ${stated && stated[1]}, not ${p.version}`);
  }
  const jsii = JSON.parse(fs.readFileSync(path.join(dir, '.jsii'), 'utf8'));
  const modules = { resource: new Map(), data: new Map() };
  const lib = path.join(dir, 'lib');
  for (const m of fs.readdirSync(lib)) {
    const file = path.join(lib, m, 'index.js');
    if (!fs.existsSync(file)) {
      continue;
    }
    const js = fs.readFileSync(file, 'utf8');
    const t = js.match(/^(\w+)\.tfResourceType = "([a-z0-9_]+)";$/m);
    if (!t || m === 'provider') {
      continue;
    }
    const kind = new RegExp(`^class ${t[1]} extends cdktf\\.TerraformDataSource`, 'm').test(js) ? 'data' : 'resource';
    modules[kind].set(t[2], { file, js, className: t[1] });
  }
  return { name, jsii, modules };
}

/** Classes of one module: what each can read, its nested classes, and the element class of a list. */
function classes(js) {
  const out = new Map();
  const heads = [...js.matchAll(/^class (\w+) extends cdktf\.(\w+) \{$/gm)];
  heads.forEach((h, i) => {
    const end = i + 1 < heads.length ? heads[i + 1].index : js.length;
    const body = js.slice(h.index, end);
    const reads = new Set();
    for (const m of body.matchAll(/this\.(?:get\w*Attribute|interpolationForAttribute)\('([a-z0-9_]+)'\)/g)) {
      reads.add(m[1]);
    }
    const nested = new Map();
    for (const m of body.matchAll(/new ([\w.]+)\(this, "([a-z0-9_]+)"/g)) {
      if (m[1].startsWith('cdktf.')) {
        reads.add(m[2]);
      } else {
        nested.set(m[2], m[1]);
      }
    }
    const element = body.match(/get\(index\) \{\s*return new (\w+)\(/);
    out.set(h[1], { base: h[2], reads, nested, element: element && element[1] });
  });
  return out;
}

/** Inputs from the *ToHclTerraform functions (and the resource's synthesizeHclAttributes). */
function inputs(js, resourceClass) {
  const out = new Map();
  const parse = (body, owner) => {
    const attrs = new Map();
    const re = /^ {8,12}(\w+): \{\s*value: (.*),\s*isBlock: (true|false),\s*type: "(\w+)",\s*storageClassType: "(\w+)",\s*\},?$/gm;
    for (const m of body.matchAll(re)) {
      const camel = m[2].match(/(?:struct!?|this)\.(_?\w+)/);
      const child = m[2].match(/(\w+)ToHclTerraform\b/);
      attrs.set(m[1], {
        camel: camel ? camel[1].replace(/^_/, '') : null,
        isBlock: m[3] === 'true',
        type: m[4],
        storage: m[5],
        childStruct: child && !child[1].startsWith('cdktf.') ? child[1][0].toUpperCase() + child[1].slice(1) : null,
      });
    }
    out.set(owner, attrs);
  };
  for (const m of js.matchAll(/^function (\w+)ToHclTerraform\(struct\) \{$([\s\S]*?)^\}$/gm)) {
    parse(m[2], m[1][0].toUpperCase() + m[1].slice(1));
  }
  const synth = js.match(/synthesizeHclAttributes\(\) \{$([\s\S]*?)^    \}$/m);
  if (!synth) {
    throw new Error(`no synthesizeHclAttributes in ${resourceClass}`);
  }
  parse(synth[1], `${resourceClass}Config`);
  return out;
}

function typeName(t) {
  if (!t) return 'any';
  if (t.primitive) return t.primitive === 'boolean' ? 'bool' : t.primitive === 'json' ? 'any' : t.primitive;
  if (t.collection) return t.collection.kind === 'map' ? 'map' : 'list';
  if (t.union) {
    const real = t.union.types.filter((u) => u.fqn !== 'cdktf.IResolvable');
    return real.length === 1 ? typeName(real[0]) : 'any';
  }
  return 'object';
}

function isSingle(t) {
  return Boolean(t && t.fqn && t.fqn !== 'cdktf.IResolvable');
}

function enumValues(docs) {
  const text = `${(docs && docs.summary) || ''}\n${(docs && docs.remarks) || ''}`;
  const m = text.match(/Possible values: \[([^\]]*)\]/);
  if (!m) return undefined;
  const values = [...m[1].matchAll(/"([^"]*)"/g)].map((v) => v[1]);
  return values.length ? values : undefined;
}

function extract(pkg, kind, type) {
  const mod = pkg.modules[kind].get(type);
  const cls = classes(mod.js);
  const ins = inputs(mod.js, mod.className);
  const fqnMatch = mod.js.match(new RegExp(`fqn: "([^"]+)\\.${mod.className}"`));
  const ns = fqnMatch[1];
  const struct = (name) => pkg.jsii.types[`${ns}.${name}`];

  /** A computed-only object: everything it has can be read, nothing set. */
  const readOnly = (className) => {
    const c = cls.get(className);
    const block = { attributes: {}, blocks: {} };
    if (!c) return block;
    for (const r of [...c.reads].sort()) block.attributes[r] = { computedOnly: true };
    for (const [name, child] of [...c.nested].sort()) {
      const cc = cls.get(child);
      const element = cc && cc.base === 'ComplexList' ? cc.element : child;
      block.blocks[name] = { nesting: cc && cc.base === 'ComplexList' ? 'list' : 'single', computedOnly: true, ...readOnly(element) };
    }
    return block;
  };

  const build = (structName, className) => {
    const attrs = ins.get(structName);
    const s = struct(structName);
    if (!attrs || !s) throw new Error(`${type}: no struct ${structName}`);
    const props = new Map((s.properties || []).map((p) => [p.name, p]));
    const c = cls.get(className) || { reads: new Set(), nested: new Map() };
    const block = { attributes: {}, blocks: {} };
    for (const [snake, a] of [...attrs].sort(([x], [y]) => x.localeCompare(y))) {
      const p = props.get(a.camel);
      if (!p) throw new Error(`${type}: ${structName}.${a.camel} (${snake}) is not in the assembly`);
      if (a.isBlock) {
        const childClassName = c.nested.get(snake);
        const cc = childClassName && cls.get(childClassName);
        const elementClass = cc && cc.base === 'ComplexList' ? cc.element : childClassName;
        block.blocks[snake] = {
          nesting: isSingle(p.type) ? 'single' : 'list',
          ...(p.optional ? {} : { required: true }),
          ...build(a.childStruct, elementClass),
        };
      } else {
        const e = enumValues(p.docs);
        block.attributes[snake] = {
          type: typeName(p.type),
          ...(p.optional ? {} : { required: true }),
          ...(e ? { enum: e } : {}),
        };
      }
    }
    for (const r of [...c.reads].sort()) {
      if (!block.attributes[r] && !block.blocks[r]) {
        block.attributes[r] = { computedOnly: true };
      }
    }
    for (const [name, child] of [...c.nested].sort()) {
      if (!block.attributes[name] && !block.blocks[name]) {
        const cc = cls.get(child);
        const element = cc && cc.base === 'ComplexList' ? cc.element : child;
        block.blocks[name] = { nesting: cc && cc.base === 'ComplexList' ? 'list' : 'single', computedOnly: true, ...readOnly(element) };
      }
    }
    return block;
  };
  return build(`${mod.className}Config`, mod.className);
}

function generate(packagesDir) {
  const used = usedTypes();
  const work = packagesDir || fs.mkdtempSync(path.join(os.tmpdir(), 'provider-schema-'));
  const packages = {};
  for (const name of Object.keys(PROVIDERS)) {
    const dir = packagesDir ? path.join(packagesDir, PROVIDERS[name].npm.replace('/', '+'), 'package') : unpack(name, work);
    packages[name] = loadPackage(name, dir);
  }
  const schema = {
    comment: 'Generated by infra-tests/schema/extract-provider-schema.mjs from the @cdktf prebuilt provider bindings; do not edit.',
    providers: Object.fromEntries(Object.entries(PROVIDERS).map(([k, v]) => [k, { source: v.source, version: v.version, generatedFrom: `${v.npm}@${v.npmVersion}` }])),
    resource: {},
    data: {},
  };
  const missing = [];
  for (const kind of ['resource', 'data']) {
    for (const type of [...used[kind]].sort()) {
      // The provider a type comes from: time_* from time, google_* from google, else from google-beta.
      const candidates = type.startsWith('time_') ? ['time'] : ['google', 'google-beta'];
      const provider = candidates.find((c) => packages[c].modules[kind].has(type));
      if (!provider) {
        missing.push(`${kind} ${type}`);
        continue;
      }
      schema[kind][type] = { provider, ...extract(packages[provider], kind, type) };
    }
  }
  if (missing.length) {
    // Kept out of the file on purpose: ProviderSchemaTest then fails on the type, naming it.
    process.stderr.write(`not in any pinned provider: ${missing.join(', ')}\n`);
  }
  if (!packagesDir) {
    fs.rmSync(work, { recursive: true, force: true });
  }
  return `${JSON.stringify(schema, null, 1)}\n`;
}

const args = process.argv.slice(2);
const packagesArg = args.indexOf('--packages');
const text = generate(packagesArg >= 0 ? path.resolve(args[packagesArg + 1]) : null);
if (args.includes('--check')) {
  const current = fs.existsSync(out) ? fs.readFileSync(out, 'utf8') : '';
  if (current !== text) {
    process.stderr.write(`${path.relative(root, out)} is not current: run node infra-tests/schema/extract-provider-schema.mjs\n`);
    process.exit(1);
  }
} else {
  fs.writeFileSync(out, text);
  process.stdout.write(`wrote ${path.relative(root, out)}\n`);
}
