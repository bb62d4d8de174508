/**
 * Reading a saved plan file: the one parser the CLI (`prune --plan`) and the page (Open plan) share.
 * A plan file is hostile input like any model file, so every check happens here, in order: size,
 * JSON syntax (with line and column), shape (`{"version": 1, "remove": {layer: [int, ...]}}`), then,
 * given the model, its fingerprint and `validatePlan`'s ranges. Every failure is one
 * `ModelLoadError('BAD_PLAN', ...)` that names the file, and messages stay short: a list of a
 * million indices is quoted as its first few and a count, never echoed.
 *
 * Example: `parsePlanFile('{"version":1,"remove":{"conv2":[3,1,3]}}', 'p.json')` gives
 * `{version: 1, remove: {conv2: [1, 3]}}`; `parsePlanFile('null', 'p.json')` throws BAD_PLAN
 * "Plan file 'p.json' holds null, not a plan object ...".
 */
import { ModelLoadError } from '../io/errors';
import type { ChannelGraph } from '../graph/types';
import { canonicalPlan } from './key';
import { planModelMismatch, type PruningPlan } from './plan';
import { canonicalizePlan, describeValue, quoteName, validatePlan } from './validate';

/** Named limits on a plan file, so a message can say which one a file broke. */
export const PLAN_FILE_LIMITS = {
  /** Bytes of JSON text; a plan for a 100,000-channel model is under 1 MB. */
  maxBytes: 32 * 1024 * 1024,
  /** Problems listed in one message; the rest are counted. */
  maxProblems: 8,
} as const;

/** What a plan file is checked against: the open model's graph, fingerprint and name. */
export interface PlanFileContext {
  graph: ChannelGraph;
  fingerprint: string;
  modelName: string;
}

/**
 * Parses and checks a plan file's text; returns the canonical plan (aliases renamed to each group's
 * producer when `ctx` is given, sorted, unique, empty lists dropped, `model` kept) or throws
 * `ModelLoadError('BAD_PLAN', "Plan file '<fileName>' ...", {file: fileName})`.
 */
export function parsePlanFile(text: string, fileName: string, ctx?: PlanFileContext): PruningPlan {
  const where = `Plan file ${quoteName(fileName)}`;
  const fail = (what: string): never => {
    throw new ModelLoadError('BAD_PLAN', `${where} ${what}`, { file: fileName });
  };
  if (typeof text !== 'string') fail('could not be read as text.');
  if (text.length > PLAN_FILE_LIMITS.maxBytes) {
    fail(
      `is ${text.length.toLocaleString('en-US')} characters, over the limit of ${PLAN_FILE_LIMITS.maxBytes.toLocaleString('en-US')} for a plan file.`,
    );
  }
  // A byte order mark, as Windows editors write, is not part of the JSON.
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    fail(`is not valid JSON: ${jsonErrorWhere(text, e)}.`);
  }
  const plan = checkPlanShape(json, fail);
  if (!ctx) return canonicalPlan(plan);

  const mismatch = planModelMismatch(plan, ctx.fingerprint, ctx.modelName);
  if (mismatch) {
    // The plan's own name and fingerprint are quoted capped: they come from the file.
    const shown: PruningPlan = {
      ...plan,
      model: {
        fingerprint: clip(plan.model!.fingerprint, 40),
        ...(plan.model?.name !== undefined ? { name: clip(plan.model.name, 60) } : {}),
      },
    };
    fail(
      `does not match this model. ${planModelMismatch(shown, ctx.fingerprint, ctx.modelName) ?? mismatch}`,
    );
  }
  const problems = validatePlan(ctx.graph, plan);
  if (problems.length > 0) {
    const max = PLAN_FILE_LIMITS.maxProblems;
    const more = problems.length - max;
    fail(
      `does not fit model ${quoteName(ctx.modelName)}:\n  ${problems.slice(0, max).join('\n  ')}${
        more > 0 ? `\n  … and ${more.toLocaleString('en-US')} more problem${more === 1 ? '' : 's'}.` : ''
      }`,
    );
  }
  const canonical = canonicalPlan(canonicalizePlan(ctx.graph, plan));
  if (plan.model !== undefined) canonical.model = plan.model;
  return canonical;
}

/** Checks the JSON value is a version-1 plan of integer lists; returns a clean copy (own fields only). */
function checkPlanShape(json: unknown, fail: (what: string) => never): PruningPlan {
  const expected = 'expected {"version": 1, "remove": {"<layer>": [<channel>, ...]}}';
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    fail(`holds ${describeValue(json)}, not a plan object (${expected}).`);
  }
  const o = json as Record<string, unknown>;
  if (!Object.hasOwn(o, 'version')) fail(`has no "version" (${expected}).`);
  if (o.version !== 1) fail(`has version ${describeValue(o.version)}; this PruneLab reads version 1.`);
  const remove = o.remove;
  if (typeof remove !== 'object' || remove === null || Array.isArray(remove)) {
    fail(
      `has ${Object.hasOwn(o, 'remove') ? `"remove" ${describeValue(remove)}` : 'no "remove"'}; ${expected}.`,
    );
  }
  const problems: string[] = [];
  const clean: Record<string, number[]> = {};
  const entries = Object.entries(remove as Record<string, unknown>);
  for (const [layer, list] of entries) {
    if (problems.length > PLAN_FILE_LIMITS.maxProblems) break;
    if (layer === '__proto__') {
      problems.push(`"remove" names ${quoteName(layer)}, which no layer can be called.`);
      continue;
    }
    if (!Array.isArray(list)) {
      problems.push(`the channels of ${quoteName(layer)} are ${describeValue(list)}, not a list.`);
      continue;
    }
    const bad = (list as unknown[]).filter((i) => !(Number.isSafeInteger(i) && (i as number) >= 0));
    if (bad.length > 0) {
      problems.push(
        `the channels of ${quoteName(layer)} must be whole numbers >= 0, but include ${listValues(bad)}.`,
      );
      continue;
    }
    clean[layer] = list as number[];
  }
  if (problems.length > 0) {
    const max = PLAN_FILE_LIMITS.maxProblems;
    fail(
      `is not a valid plan: ${problems.slice(0, max).join(' ')}${problems.length > max ? ' … and more.' : ''}`,
    );
  }
  const plan: PruningPlan = { version: 1, remove: clean };
  if (o.note !== undefined) {
    if (typeof o.note !== 'string') fail(`has "note" ${describeValue(o.note)}; it must be a string.`);
    plan.note = o.note;
  }
  if (o.model !== undefined) {
    const m = o.model as Record<string, unknown> | null;
    if (typeof m !== 'object' || m === null || Array.isArray(m) || typeof m.fingerprint !== 'string')
      fail(
        `has "model" ${describeValue(o.model)}; expected {"fingerprint": "<16 hex digits>", "name"?: "..."}.`,
      );
    if (m.name !== undefined && typeof m.name !== 'string')
      fail(`has "model.name" ${describeValue(m.name)}; it must be a string.`);
    plan.model = { fingerprint: m.fingerprint, ...(typeof m.name === 'string' ? { name: m.name } : {}) };
  }
  return plan;
}

/** The first few bad values of a list, and how many more: `"3", null, 1.5 … and 999,995 more`. */
function listValues(values: unknown[], max = 5): string {
  const shown = values.slice(0, max).map((v) => describeValue(v));
  const more = values.length - shown.length;
  return `${shown.join(', ')}${more > 0 ? ` … and ${more.toLocaleString('en-US')} more` : ''}`;
}

function clip(s: string, max: number): string {
  return s.length > max ? `${s.slice(0, max)}…` : s;
}

/**
 * Where JSON.parse stopped, as "line L, column C" with the engine's reason; Node 20 does not always
 * give a position, so the offset comes from `jsonErrorOffset`.
 */
function jsonErrorWhere(text: string, e: unknown): string {
  // The engine's reason without its own position or its quote of the text.
  const reason = clip(
    (e instanceof Error ? e.message : String(e))
      .replace(/\s+in JSON at position[\s\S]*$/, '')
      .replace(/,\s*(\.\.\.)?"[\s\S]*$/, '')
      .split('\n')[0] ?? '',
    120,
  );
  const offset = jsonErrorOffset(text);
  if (offset === null) return reason;
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      lineStart = i + 1;
    }
  }
  return `${reason} at line ${line}, column ${offset - lineStart + 1} (character ${offset + 1})`;
}

const WS = new Set([0x20, 0x09, 0x0a, 0x0d]);

/**
 * The offset of the first JSON syntax error in `text` (the end of the text when it stops early),
 * or null when it is valid JSON. Iterative, so a hostile 10^6-deep nesting cannot overflow the stack.
 */
export function jsonErrorOffset(text: string): number | null {
  let i = 0;
  const n = text.length;
  // What the scanner expects next inside each open container.
  const stack: ('a' | 'o')[] = [];
  const skipWs = () => {
    while (i < n && WS.has(text.charCodeAt(i))) i++;
  };
  const literal = (word: string) => {
    if (text.startsWith(word, i)) {
      i += word.length;
      return true;
    }
    // Report the first character that differs.
    let k = 0;
    while (k < word.length && text[i + k] === word[k]) k++;
    i += k;
    return false;
  };
  const string = (): boolean => {
    i++; // opening quote
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c === 0x22) {
        i++;
        return true;
      }
      if (c < 0x20) return false;
      if (c === 0x5c) {
        const d = text[i + 1];
        if (d === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) {
            i += 2;
            return false;
          }
          i += 6;
        } else if (d !== undefined && '"\\/bfnrt'.includes(d)) i += 2;
        else {
          i++;
          return false;
        }
      } else i++;
    }
    return false;
  };
  const number = (): boolean => {
    const m = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i, i + 400));
    if (!m) return false;
    i += m[0].length;
    return true;
  };
  /** Parses one value's start; containers push and return. */
  const value = (): boolean => {
    skipWs();
    if (i >= n) return false;
    const c = text[i];
    if (c === '{') {
      i++;
      skipWs();
      if (text[i] === '}') {
        i++;
        return true;
      }
      stack.push('o');
      return member();
    }
    if (c === '[') {
      i++;
      skipWs();
      if (text[i] === ']') {
        i++;
        return true;
      }
      stack.push('a');
      return true; // the array's first value is read by the loop
    }
    if (c === '"') return string();
    if (c === 't') return literal('true');
    if (c === 'f') return literal('false');
    if (c === 'n') return literal('null');
    if (c === '-' || (c !== undefined && c >= '0' && c <= '9')) return number();
    return false;
  };
  /** An object member's key and colon; its value is read by the loop. */
  const member = (): boolean => {
    skipWs();
    if (text[i] !== '"' || !string()) return false;
    skipWs();
    if (text[i] !== ':') return false;
    i++;
    return true;
  };
  if (!value()) return Math.min(i, n);
  while (stack.length > 0) {
    // Inside a container: after '[' or after an object key, a value is due.
    const before = stack.length;
    if (!value()) return Math.min(i, n);
    if (stack.length > before) continue; // opened a non-empty container: read its first value
    // A value ended: close containers or go on to the next element.
    for (;;) {
      skipWs();
      const top = stack[stack.length - 1];
      if (top === undefined) break;
      const c = text[i];
      if (c === ',') {
        i++;
        if (top === 'o' && !member()) return Math.min(i, n);
        break;
      }
      if ((top === 'a' && c === ']') || (top === 'o' && c === '}')) {
        i++;
        stack.pop();
        continue;
      }
      return Math.min(i, n);
    }
  }
  skipWs();
  return i < n ? i : null;
}
