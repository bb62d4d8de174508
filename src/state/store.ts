import { create } from 'zustand';
import type { ModelIR } from '../core/ir/model-ir';
import type { ChannelGraph } from '../core/graph/types';
import type { PruningPlan } from '../core/plan/plan';
import { startHistory, type PlanHistory } from '../core/plan/history';
import type { Criterion } from '../core/scoring';
import type { BackendChoice } from './tf-runtime';
import { initialAnalysis, type AnalysisState } from './analysis-slice';
import {
  initialRecover,
  type CompareFigures,
  type FineTuneFigures,
  type RecoverState,
} from './recover-slice';
import { initialJobs, type JobKind, type JobProgress } from './jobs-slice';
import type { SessionMeta } from './persist';
import type { LatencyState } from './latency-actions';

/** The open model, as plain data; its weights and live tf model sit in the registry under `id`. */
export interface SessionSlice {
  id: number;
  /** Stable id of this working session, the key it is saved under in the browser (persist.ts). */
  uid: string;
  name: string;
  /** The files it came from, as the user gave them. */
  files: string[];
  /** Bytes of those files, what "smaller" is measured against. */
  bytes?: number;
  /** What the loader warned about (NaN/Inf weights by layer, layers tfjs cannot build). */
  warnings?: string[];
  ir: ModelIR;
  graph: ChannelGraph;
}

export interface LoadErrorInfo {
  code: string;
  message: string;
  /** The files the user tried to open. */
  files: string[];
}

export interface SampleSetInfo {
  id: number;
  name: string;
  count: number;
  labelled: boolean;
  shape: [number, number, number];
}

/** What the accuracy preview measured for one plan. */
export interface PreviewFigures {
  /** Accuracy of the original and the pruned model (0..1), null without labels. */
  original: number | null;
  pruned: number | null;
  /** Top-1 agreement of the pruned model with the original (0..1). */
  agreement: number | null;
  samples: number;
  /** Whether the pruned model was measured with quantized weights (the download's). */
  quantize: string;
}

/**
 * Everything measured or made for one plan, filed under its key (core/plan/key.ts), so going back in
 * history brings back what was measured for that plan (STYLE.md #12).
 */
export interface PlanResults {
  /** The plan itself, canonical. */
  plan: PruningPlan;
  preview?: PreviewFigures;
  compare?: CompareFigures;
  /** BatchNorm re-estimated: the number of layers. */
  bn?: { layers: number };
  fineTune?: FineTuneFigures;
  /**
   * What was done to the recovered weights the registry keeps for this plan, in order
   * ('BatchNorm re-estimated', 'fine-tuned 3 epochs'); absent when there are none.
   */
  recovered?: string[];
  /** Last time anything was recorded here (ms since the epoch). */
  at: number;
}

export type CanvasTab =
  | 'filters'
  | 'layers'
  | 'groups'
  | 'graph'
  | 'plans'
  | 'sensitivity'
  | 'sweep'
  | 'samples'
  | 'accuracy'
  | 'recover'
  | 'compared';

export interface WorkbenchState {
  backend: BackendChoice | null;
  backendError: string | null;
  session: SessionSlice | null;
  loading: string | null;
  loadError: LoadErrorInfo | null;
  criterion: Criterion;
  /** producer layer -> score per output channel, for the current criterion. */
  scores: Record<string, number[]>;
  /** The plan on screen: always `history`'s current step. Only plan-slice.ts `commitPlan` & co. change it. */
  plan: PruningPlan;
  /** `planKey(plan)`: the key results are filed under. */
  planKey: string;
  /** Every named step of the plan, undoable (core/plan/history.ts). */
  history: PlanHistory;
  /** Why the plan cannot change now (fine-tuning runs), or null. */
  planLock: string | null;
  /** Results by plan key, for the open model. */
  results: Record<string, PlanResults>;
  /** Status of every long job (jobs.ts). */
  jobs: Record<JobKind, JobProgress>;
  /** Saving in the browser (persist.ts): the recent sessions, when last saved, and any failure. */
  persist: { recent: SessionMeta[]; savedAt: number | null; pending: boolean; error: string | null };
  /** How heatmaps are drawn: colours over each layer's own range or one range for all; index or score order. */
  heatmap: { scale: 'layer' | 'global'; order: 'index' | 'score' };
  /** The view in the centre of the workbench. */
  canvasTab: CanvasTab;
  /** Navigator search text and filter. */
  navigator: { query: string; filter: 'all' | 'prunable' | 'selected' | 'frozen' };
  /** What the last drop or pick was taken as ("model mnist-cnn", "sample set digits", "plan p.json"). */
  dropInfo: string | null;
  /** The help overlay (keyboard shortcuts) is open. */
  helpOpen: boolean;
  /** Files dropped on an open model that could be its sample set: the page asks first. */
  pendingSamples: { label: string; count: number } | null;
  /** Last clicked filter, the anchor of a shift-click range. */
  anchor: { layer: string; channel: number } | null;
  /** Layer whose coupling is highlighted (hover/focus in the layer list or a heatmap). */
  focusLayer: string | null;
  /** The filter under the pointer or keyboard focus: its coupled channels are spelled out. */
  focusChannel: { layer: string; channel: number } | null;
  /** How the layer list is shown: every layer, or one row per coupled group. */
  layerView: 'layers' | 'groups' | 'graph';
  sampleSet: SampleSetInfo | null;
  /** TF.js weight quantization for the download, also applied to the pruned model in the preview. */
  exportQuantize: 'none' | 'float16' | 'uint8' | 'uint16';
  notice: string | null;
  /** Scoring options, long analysis jobs and their results (analysis-slice.ts, analysis-actions.ts). */
  analysis: AnalysisState;
  /** Own samples, accuracy views and recovery (recover-slice.ts, recover-actions.ts). */
  recover: RecoverState;
  /** Latency target, calibration on this device and predicted vs measured latency (latency-actions.ts). */
  latency: LatencyState;
}

/** The one store of the workbench. Actions live in actions.ts; selectors in selectors.ts. */
export const useWorkbench = create<WorkbenchState>()(() => ({
  backend: null,
  backendError: null,
  session: null,
  loading: null,
  loadError: null,
  criterion: 'l1',
  scores: {},
  plan: { version: 1, remove: {} },
  planKey: '',
  history: startHistory({ version: 1, remove: {} }, 'empty plan', 0),
  planLock: null,
  results: {},
  jobs: initialJobs,
  persist: { recent: [], savedAt: null, pending: false, error: null },
  pendingSamples: null,
  heatmap: { scale: 'layer', order: 'index' },
  canvasTab: 'filters',
  navigator: { query: '', filter: 'all' },
  helpOpen: false,
  dropInfo: null,
  anchor: null,
  focusLayer: null,
  focusChannel: null,
  layerView: 'layers',
  sampleSet: null,
  exportQuantize: 'none',
  notice: null,
  analysis: initialAnalysis,
  recover: initialRecover,
  latency: { enabled: false, unit: 'speedup', speedup: 2, ms: 0, calibrated: null, measured: {} },
}));
