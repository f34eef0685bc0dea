// A part of a search: slice `index` of `count` (shards of machines, then threads of a pool).
export interface Slice {
  index: number;
  count: number;
}
