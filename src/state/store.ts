import { create } from 'zustand';
import type { ModelIR } from '../core/ir/model-ir';
import type { ChannelGraph } from '../core/graph/types';
import type { PruningPlan } from '../core/plan/plan';
import type { Criterion } from '../core/scoring';
import type { BackendChoice } from './tf-runtime';
import type { PlanRecord } from './plan-history';
import { initialAnalysis, type AnalysisState } from './analysis-slice';
import { initialRecover, type RecoverState } from './recover-slice';

/** The open model, as plain data; its weights and live tf model sit in the registry under `id`. */
export interface SessionSlice {
  id: number;
  name: string;
  /** The files it came from, as the user gave them. */
  files: string[];
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

export type PreviewStatus = 'idle' | 'running' | 'done' | 'cancelled' | 'error';

export interface PreviewState {
  status: PreviewStatus;
  done: number;
  total: number;
  /** Accuracy of the original and the pruned model (0..1), null without labels. */
  original: number | null;
  pruned: number | null;
  /** Top-1 agreement of the pruned model with the original (0..1). */
  agreement: number | null;
  samples: number;
  /** JSON of the plan the figures belong to, so stale figures can be flagged. */
  planKey: string | null;
  error?: string;
  startedAt?: number;
}

export interface WorkbenchState {
  backend: BackendChoice | null;
  backendError: string | null;
  session: SessionSlice | null;
  loading: string | null;
  loadError: LoadErrorInfo | null;
  criterion: Criterion;
  /** producer layer -> score per output channel, for the current criterion. */
  scores: Record<string, number[]>;
  plan: PruningPlan;
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
  preview: PreviewState;
  notice: string | null;
  /** Every plan whose accuracy was measured, with its figures (plan-history.ts). */
  planHistory: PlanRecord[];
  /** Scoring options, long analysis jobs and their results (analysis-slice.ts, analysis-actions.ts). */
  analysis: AnalysisState;
  /** Own samples, accuracy views and recovery (recover-slice.ts, recover-actions.ts). */
  recover: RecoverState;
}

export const initialPreview: PreviewState = {
  status: 'idle',
  done: 0,
  total: 0,
  original: null,
  pruned: null,
  agreement: null,
  samples: 0,
  planKey: null,
};

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
  anchor: null,
  focusLayer: null,
  focusChannel: null,
  layerView: 'layers',
  sampleSet: null,
  exportQuantize: 'none',
  preview: initialPreview,
  notice: null,
  planHistory: [],
  analysis: initialAnalysis,
  recover: initialRecover,
}));
