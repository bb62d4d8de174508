/**
 * The load errors, where the readers and their callers have always imported them from. They live in
 * `src/core/errors.ts`, a leaf every layer of core may import (the IR builder and the rules table
 * raise them too, and must not depend on io/).
 */
export { ModelLoadError, isModelLoadError, type ModelLoadErrorCode } from '../errors';
