/**
 * Channel graph types. A *group* is a set of channels that must be removed together. In a Sequential
 * CNN each group has one producer: `Conv(8) -> BN -> ReLU -> MaxPool -> Conv(16)` makes one group of 8
 * channels whose members are the first Conv (output axis), the BN (per-channel arrays), and the second
 * Conv (input axis). Flatten -> Dense maps channel c of `[h, w, C]` to Dense rows `c + C*k`.
 */

/** How a member layer is affected when channels of its group are removed. */
export type MemberRole =
  /** Owns the channels: kernel output axis and bias are sliced, `filters`/`units` shrinks. */
  | 'producer'
  /** Per-channel layer (BatchNorm, activation, pooling, dropout...): per-channel weights sliced. */
  | 'channelwise'
  /** Reads the channels: kernel input axis sliced (Dense after Flatten: rows `c + C*k`). */
  | 'consumer';

export interface GroupMember {
  layer: string;
  role: MemberRole;
  /** The layer's Keras class (for display: "filters" vs "units", "input channels" vs "input rows"). */
  className?: string;
  /**
   * How group channel `g` (of `size`) maps onto this member's *input* channel axis (producers: its
   * output axis, always 1:1): indices `g*multiplier + j + size*multiplier*k` for `j < multiplier`,
   * `k < spatial`. `multiplier` comes from DepthwiseConv2D depth multipliers on the way (default 1);
   * `spatial` from a Flatten on the way (h*w; default 1), e.g. a consumer Dense behind Flatten.
   */
  spatial?: number;
  multiplier?: number;
}

export interface ChannelGroup {
  id: number;
  /** The producer layer whose output channels define this group (the plan is keyed by it). */
  producer: string;
  /** Number of channels in the group (the producer's filters/units). */
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

export interface ChannelGraph {
  groups: ChannelGroup[];
  /** producer layer name -> group id. */
  groupByProducer: Record<string, number>;
  /** any member layer name -> ids of the groups it belongs to. */
  groupsByLayer: Record<string, number[]>;
  /** Every layer of the model -> its Keras class, so a plan naming a non-producer can be told apart from a typo. */
  layerClasses?: Record<string, string>;
}
