/**
 * @strata/tsdb: Strata's time-series engine. Points are (series, timestamp in ms, float64 value);
 * series are compressed in chunks (codec/), bit-exact. Storage, partitions, rollups and queries
 * come in the next steps of issue 4.
 */
export {}
