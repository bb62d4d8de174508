import type { InputFile, ModelArtifactsData } from '../ir/artifacts';
import type { ModelIR } from '../ir/model-ir';

/** Artifacts with the IR a reader built while validating them, so the loader does not build it again. */
export interface OpenedArtifacts {
  artifacts: ModelArtifactsData;
  ir: ModelIR;
}

/**
 * A model format plug-in (netron `source/keras.js`): `match` is a cheap sniff of the files' content
 * (never their extensions); `open` parses, validates and normalises to artifacts, throwing
 * `ModelLoadError` naming the file at fault. The loader asks each registered format in turn.
 * A reader that builds the IR to validate (Keras, ONNX: `ModelFormat<OpenedArtifacts>`) returns it
 * with the artifacts; one that does not (TF.js) returns the artifacts, and the loader builds the IR once.
 */
export interface ModelFormat<Opened extends OpenedArtifacts | ModelArtifactsData = ModelArtifactsData> {
  id: string;
  /** What the user should have given, for "none of the files is ..." messages, e.g. `a TF.js model.json`. */
  description: string;
  match(files: InputFile[]): boolean;
  open(files: InputFile[]): Promise<Opened>;
}

/** Any registered plug-in, whichever of the two it returns. */
export type AnyModelFormat = ModelFormat<OpenedArtifacts | ModelArtifactsData>;

/** Whether a plug-in returned the IR with its artifacts. */
export function hasIR(x: OpenedArtifacts | ModelArtifactsData): x is OpenedArtifacts {
  return 'ir' in x && 'artifacts' in x;
}

/** Normalises a dropped/zipped path: `\` to `/`, no leading `./` or `/`, `.` and `..` segments resolved. */
export function normalizePath(path: string): string {
  const out: string[] = [];
  for (const part of path.replace(/\\/g, '/').split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') out.pop();
    else out.push(part);
  }
  return out.join('/');
}

/** The last segment of a path (`mymodel/group1-shard1of2.bin` -> `group1-shard1of2.bin`). */
export function baseName(path: string): string {
  const p = normalizePath(path);
  return p.slice(p.lastIndexOf('/') + 1);
}

/** The folder of a path, `''` at the top (`mymodel/model.json` -> `mymodel`). */
export function dirName(path: string): string {
  const p = normalizePath(path);
  const i = p.lastIndexOf('/');
  return i < 0 ? '' : p.slice(0, i);
}

/** Names files for a message: `3 files (a.png, b.txt, c.bin)`, eliding after `max` names. */
export function describeFiles(files: readonly InputFile[], max = 8): string {
  const names = files.slice(0, max).map((f) => f.path);
  if (files.length > max) names.push(`and ${files.length - max} more`);
  return `${files.length} file${files.length === 1 ? '' : 's'} (${names.join(', ')})`;
}
