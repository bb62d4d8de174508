/**
 * Channel graph types. A *group* is a set of channels that must be removed together.
 *
 * In a chain each group has one producer: `Conv(8) -> BN -> ReLU -> MaxPool -> Conv(16)` makes one
 * group of 8 channels whose members are the first Conv (output axis), the BN (per-channel arrays),
 * and the second Conv (input axis). Flatten -> Dense maps channel c of `[h, w, C]` to Dense rows `c + C*k`.
 *
 * In a DAG, elementwise merges join groups: `Conv(8) -> BN -> ReLU -> Add <- Conv(8)` is ONE group of
 * 8 coupled channels with two producers; removing channel 3 removes filter 3 of both convs, BN entry
 * 3 and the Add's channel 3. A whole residual stage (every block adding into the same stream) is one
 * group. Concatenate does not join groups: each input's group sits at an offset of the output
 * (`concat([a(4), b(6)])`: b's channel g is the output's channel `4 + g`, and 4 shrinks as a loses channels).
 */

/** How a member layer is affected when channels of its group are removed. */
export type MemberRole =
  /** Owns the channels: kernel output axis and bias are sliced, `filters`/`units` shrinks. */
  | 'producer'
  /** Per-channel layer (BatchNorm, activation, pooling, depthwise, merge, concat...): per-channel weights sliced. */
  | 'channelwise'
  /** Reads the channels: kernel input axis sliced (Dense after Flatten: rows `c + C*k`). */
  | 'consumer';

/**
 * Where a group's channels sit on one channel axis: group channel `g` (of the group's `size`) is at the
 * indices `offset + g*multiplier + j + stride*k` for `j < multiplier`, `k < spatial`.
 * `multiplier` comes from DepthwiseConv2D depth multipliers on the way, `spatial` and `stride` from a
 * Flatten (its `h*w` positions, and the channel count of the tensor it flattened), `offset` from
 * the Concatenate inputs before it.
 */
export interface ChannelSlot {
  offset: number;
  multiplier: number;
  spatial: number;
  stride: number;
}

export interface GroupMember {
  layer: string;
  role: MemberRole;
  /** The layer's Keras class (for display: "filters" vs "units", "input channels" vs "input rows"). */
  className?: string;
  /**
   * How group channel `g` maps onto this member's channel axis: the *input* axis of a consumer or
   * channel-wise layer, the *output* axis of a merge or Concatenate (where its inputs' channels land;
   * producers: their output axis, always 1:1). Indices `offset + g*multiplier + j + stride*k` for
   * `j < multiplier`, `k < spatial` (see `ChannelSlot`); each field is omitted at its default
   * (`offset` 0, `multiplier` 1, `spatial` 1, `stride` size*multiplier). `memberIndices` computes them.
   */
  spatial?: number;
  multiplier?: number;
  offset?: number;
  stride?: number;
  /** Every place of the group on that axis, when it appears more than once (a concatenation of two tensors of one group). */
  slots?: ChannelSlot[];
}

export interface ChannelGroup {
  id: number;
  /**
   * The group's first producer in topological order: a plan names the group's channels by it
   * (see plan/plan.ts). Scores are keyed by it too.
   */
  producer: string;
  /** Every layer that owns these channels (several when an elementwise merge couples them), `producer` first. */
  producers: string[];
  /** Number of channels in the group (every producer's filters/units). */
  size: number;
  members: GroupMember[];
  prunable: boolean;
  /** Why not prunable, in words for the user (e.g. "its outputs are the model's output (10 classes)"). */
  reason?: string;
  /**
   * Prunable, but not exactly: layers on the way whose kept channels' values change when others are
   * removed (a softmax or LayerNormalization over the channels), in words for the user.
   */
  caveats?: string[];
}

/** A place of a group on a tensor's channel axis (`ChannelSlot` plus the group id). */
export interface LayoutSlot extends ChannelSlot {
  group: number;
}

/**
 * A layer output's channel axis: its original width and where each group's channels sit. Indices not
 * covered by a slot belong to no group (the model's input, the output of an unknown layer): they never change.
 */
export interface TensorLayout {
  width: number;
  slots: LayoutSlot[];
}

export interface ChannelGraph {
  groups: ChannelGroup[];
  /** producer layer name -> group id (every producer of a group, not only `group.producer`). */
  groupByProducer: Record<string, number>;
  /** any member layer name -> ids of the groups it belongs to. */
  groupsByLayer: Record<string, number[]>;
  /** Every layer of the model -> its Keras class, so a plan naming a non-producer can be told apart from a typo. */
  layerClasses?: Record<string, string>;
  /**
   * Every layer's output channel axis, by layer name (what the cost model and surgery follow).
   * Always set by `buildChannelGraph`; optional so hand-written graphs in tests stay small.
   */
  layouts?: Record<string, TensorLayout>;
}
